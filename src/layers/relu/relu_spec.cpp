#include "layers/layer_registry.hpp"
#include "layers/relu/relu.hpp"
#include "nn/lowering.hpp"

namespace ocrcore::detail {

// Fused into the layer before it when that one has no activation yet (a
// convolution, a Tucker chain's output factor, a linear layer); else an op of
// its own.
void LayerKind<ReluSpec>::lower(const ReluSpec&, Lowering& l) {
  bool* slot = nullptr;
  if (Op* prev = l.last()) {
    if (auto* c = std::get_if<ConvOp>(prev)) slot = &c->relu;
    if (auto* t = std::get_if<TuckerOp>(prev)) slot = &t->out.relu;
    if (auto* lin = std::get_if<LinearOp>(prev)) slot = &lin->relu;
  }
  if (slot && !*slot)
    *slot = true;
  else
    l.add(ReluOp{});
}

void register_relu_layer(LayerKindRegistry& registry) {
  registry.add<ReluSpec>();
}

}  // namespace ocrcore::detail
