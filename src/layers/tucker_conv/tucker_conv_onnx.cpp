// Each factor as a Conv named NAME.in / .core / .out, which the importer
// reassembles into a tucker_conv.

#include "layers/tucker_conv/tucker_conv.hpp"
#include "onnx/layer_export.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_tucker_conv(const TuckerConvSpec& t, LayerExport& e) {
  if (t.rank_in > 0) e.conv(t.name + ".in", 1, 1, 1, 1, 0, 0, false);
  e.conv(t.name + ".core", t.kernel_h, t.kernel_w, t.stride_h, t.stride_w, t.pad_h, t.pad_w, false);
  e.conv(t.name + ".out", 1, 1, 1, 1, 0, 0, t.bias);
}

}  // namespace

void register_tucker_conv_onnx(OnnxExportRegistry& registry) {
  registry.add<TuckerConvSpec, export_tucker_conv>();
}

}  // namespace ocrcore::onnx_io
