// A grouped convolution as an ONNX Conv with its group count.

#include "layers/grouped_conv/grouped_conv.hpp"
#include "onnx/layer_export.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_grouped_conv(const GroupedConvSpec& c, LayerExport& e) {
  e.conv(c.name, c.kernel_h, c.kernel_w, c.stride_h, c.stride_w, c.pad_h, c.pad_w, c.bias,
         c.groups);
}

}  // namespace

void register_grouped_conv_onnx(OnnxExportRegistry& registry) {
  registry.add<GroupedConvSpec, export_grouped_conv>();
}

}  // namespace ocrcore::onnx_io
