#include "layers/dropout/dropout.hpp"
#include "layers/layer_registry.hpp"
#include "runtime/graph/lowering.hpp"

namespace ocrcore::detail {

// Identity at inference: no op.
void LayerKind<DropoutSpec>::lower(const DropoutSpec&, Lowering&) {}

void register_dropout_layer(LayerKindRegistry& registry) {
  registry.add<DropoutSpec>();
}

}  // namespace ocrcore::detail
