// The feature map to frames: Transpose to [W, N, C, H], Reshape to [W, N, C * H].

#include "layers/collapse/collapse.hpp"
#include "onnx/layer_export.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_collapse(const CollapseSpec& /*layer*/, LayerExport& e) {
  auto* tr = e.graph.node("Transpose", "/collapse" + e.anon + "/Transpose", {e.current});
  GraphBuilder::ints(tr, "perm", {3, 0, 1, 2});
  e.current = e.graph
                  .node("Reshape", "/collapse" + e.anon + "/Reshape",
                        {tr->output(0), "ocrcore.merge_last_two"})
                  ->output(0);
}

}  // namespace

void register_collapse_onnx(OnnxExportRegistry& registry) {
  registry.add<CollapseSpec, export_collapse>();
}

}  // namespace ocrcore::onnx_io
