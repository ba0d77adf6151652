// conv2d as an ONNX Conv, both ways.

#include "layers/conv2d/conv2d.hpp"
#include "onnx/layer_onnx.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_conv2d(const Conv2dSpec& c, LayerExport& e) {
  e.conv(c.name, c.kernel_h, c.kernel_w, c.stride_h, c.stride_w, c.pad_h, c.pad_w, c.bias);
}

// A Conv without groups (grouped_conv takes the others).
bool import_conv2d(LayerImport& l) {
  if (int_attribute(l.node, "group", 1) != 1) return false;
  OnnxConv c = l.conv();
  Conv2dSpec s{l.name(),   c.in_channels, c.out_channels, c.kernel_h, c.kernel_w,
               c.stride_h, c.stride_w,    c.pad_h,        c.pad_w,    c.bias};
  l.out.tensors[s.name + ".weight"] = std::move(c.weight);
  if (c.bias) l.out.tensors[s.name + ".bias"] = std::move(c.bias_tensor);
  l.out.architecture.layers.push_back(s);
  return true;
}

}  // namespace

void register_conv2d_onnx(OnnxLayerRegistry& registry) {
  registry.add_export<Conv2dSpec, export_conv2d>();
  registry.add_import("Conv", Carrier::maps, import_conv2d);
}

}  // namespace ocrcore::onnx_io
