#include "layers/collapse/collapse.hpp"
#include "layers/collapse/collapse_op.hpp"
#include "layers/layer_registry.hpp"
#include "runtime/graph/lowering.hpp"

namespace ocrcore::detail {

void LayerKind<CollapseSpec>::lower(const CollapseSpec&, Lowering& l) {
  l.add(CollapseOp{});
}

void register_collapse_layer(LayerKindRegistry& registry) {
  registry.add<CollapseSpec>();
}

}  // namespace ocrcore::detail
