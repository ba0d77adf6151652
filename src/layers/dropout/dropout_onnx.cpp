// Dropout with its ratio (identity at inference, kept for round trips), both ways.

#include "layers/dropout/dropout.hpp"
#include "onnx/layer_onnx.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_dropout(const DropoutSpec& d, LayerExport& e) {
  const std::string ratio = "dropout" + e.anon + ".ratio";
  e.graph.float_tensor(ratio, {}, {d.p});
  e.current =
      e.graph.node("Dropout", "/dropout" + e.anon + "/Dropout", {e.current, ratio})->output(0);
}

bool import_dropout(LayerImport& l) {
  float p = 0.0f;
  if (l.node.input_size() > 1 && !l.node.input(1).empty()) {
    const auto& ratio = l.graph.constant(l.node.input(1), l.node);
    if (ratio.floats.size() != 1) l.fail("ratio is not one float");
    p = ratio.floats[0];
  } else if (const auto* r = find_attribute(l.node, "ratio")) {
    p = r->f();
  }
  l.out.architecture.layers.push_back(DropoutSpec{p});
  return true;
}

}  // namespace

void register_dropout_onnx(OnnxLayerRegistry& registry) {
  registry.add_export<DropoutSpec, export_dropout>();
  registry.add_import("Dropout", Carrier::maps, import_dropout);
  registry.add_import("Dropout", Carrier::frames, import_dropout);
}

}  // namespace ocrcore::onnx_io
