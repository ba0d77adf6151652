#include "layers/layer_registry.hpp"
#include "layers/relu/relu.hpp"
#include "runtime/graph/lowering.hpp"

namespace ocrcore::detail {

// An op of its own, which the graph pass fuses into the layer before it when
// that one can take it (a convolution, a Tucker chain's output factor, a
// linear layer without an activation yet).
void LayerKind<ReluSpec>::lower(const ReluSpec&, Lowering& l) {
  l.add(ReluOp{});
}

void register_relu_layer(LayerKindRegistry& registry) {
  registry.add<ReluSpec>();
}

}  // namespace ocrcore::detail
