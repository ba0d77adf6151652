// Dropout with its ratio (identity at inference, kept for round trips).

#include "layers/dropout/dropout.hpp"
#include "onnx/layer_export.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_dropout(const DropoutSpec& d, LayerExport& e) {
  const std::string ratio = "dropout" + e.anon + ".ratio";
  e.graph.float_tensor(ratio, {}, {d.p});
  e.current =
      e.graph.node("Dropout", "/dropout" + e.anon + "/Dropout", {e.current, ratio})->output(0);
}

}  // namespace

void register_dropout_onnx(OnnxExportRegistry& registry) {
  registry.add<DropoutSpec, export_dropout>();
}

}  // namespace ocrcore::onnx_io
