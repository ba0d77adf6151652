// Relu, on feature maps or frames, both ways.

#include "layers/relu/relu.hpp"
#include "onnx/layer_onnx.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_relu(const ReluSpec& /*layer*/, LayerExport& e) {
  e.current = e.graph.node("Relu", "/relu" + e.anon + "/Relu", {e.current})->output(0);
}

bool import_relu(LayerImport& l) {
  l.out.architecture.layers.push_back(ReluSpec{});
  return true;
}

}  // namespace

void register_relu_onnx(OnnxLayerRegistry& registry) {
  registry.add_export<ReluSpec, export_relu>();
  registry.add_import("Relu", Carrier::maps, import_relu);
  registry.add_import("Relu", Carrier::frames, import_relu);
}

}  // namespace ocrcore::onnx_io
