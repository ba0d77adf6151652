// Relu.

#include "layers/relu/relu.hpp"
#include "onnx/layer_export.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_relu(const ReluSpec& /*layer*/, LayerExport& e) {
  e.current = e.graph.node("Relu", "/relu" + e.anon + "/Relu", {e.current})->output(0);
}

}  // namespace

void register_relu_onnx(OnnxExportRegistry& registry) {
  registry.add<ReluSpec, export_relu>();
}

}  // namespace ocrcore::onnx_io
