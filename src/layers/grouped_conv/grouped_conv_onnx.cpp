// A grouped convolution as an ONNX Conv with its group count, both ways.

#include "layers/grouped_conv/grouped_conv.hpp"
#include "onnx/layer_onnx.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_grouped_conv(const GroupedConvSpec& c, LayerExport& e) {
  e.conv(c.name, c.kernel_h, c.kernel_w, c.stride_h, c.stride_w, c.pad_h, c.pad_w, c.bias,
         c.groups);
}

bool import_grouped_conv(LayerImport& l) {
  if (int_attribute(l.node, "group", 1) == 1) return false;
  OnnxConv c = l.conv();
  GroupedConvSpec s{l.name(),   c.in_channels, c.out_channels, c.kernel_h, c.kernel_w, c.stride_h,
                    c.stride_w, c.pad_h,       c.pad_w,        c.groups,   c.bias};
  l.out.tensors[s.name + ".weight"] = std::move(c.weight);
  if (c.bias) l.out.tensors[s.name + ".bias"] = std::move(c.bias_tensor);
  l.out.architecture.layers.push_back(s);
  return true;
}

}  // namespace

void register_grouped_conv_onnx(OnnxLayerRegistry& registry) {
  registry.add_export<GroupedConvSpec, export_grouped_conv>();
  registry.add_import("Conv", Carrier::maps, import_grouped_conv);
}

}  // namespace ocrcore::onnx_io
