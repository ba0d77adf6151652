// conv2d as an ONNX Conv.

#include "layers/conv2d/conv2d.hpp"
#include "onnx/layer_export.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_conv2d(const Conv2dSpec& c, LayerExport& e) {
  e.conv(c.name, c.kernel_h, c.kernel_w, c.stride_h, c.stride_w, c.pad_h, c.pad_w, c.bias);
}

}  // namespace

void register_conv2d_onnx(OnnxExportRegistry& registry) {
  registry.add<Conv2dSpec, export_conv2d>();
}

}  // namespace ocrcore::onnx_io
