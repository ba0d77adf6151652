#include "layers/conv2d/conv2d.hpp"
#include "layers/layer_registry.hpp"
#include "nn/lowering.hpp"

namespace ocrcore::detail {

Conv2dSpec LayerKind<Conv2dSpec>::parse(FieldReader& f) {
  Conv2dSpec s;
  read_convolution_fields(f, s);
  return s;
}

void LayerKind<Conv2dSpec>::tensors(const Conv2dSpec& s, std::vector<TensorRequirement>& out) {
  out.push_back({s.name + ".weight", {s.out_channels, s.in_channels, s.kernel_h, s.kernel_w}});
  if (s.bias) out.push_back({s.name + ".bias", {s.out_channels}});
}

std::int64_t LayerKind<Conv2dSpec>::parameters(const Conv2dSpec& s) {
  return std::int64_t{s.out_channels} * s.in_channels * s.kernel_h * s.kernel_w +
         (s.bias ? s.out_channels : 0);
}

void LayerKind<Conv2dSpec>::count(const Conv2dSpec& s, WorkCount& w) {
  w.height = conv_out(w.height, s.kernel_h, s.stride_h, s.pad_h);
  w.width = conv_out(w.width, s.kernel_w, s.stride_w, s.pad_w);
  w.madds += double(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w * w.height * w.width;
}

void LayerKind<Conv2dSpec>::lower(const Conv2dSpec& s, Lowering& l) {
  ConvOp op = make_conv_op(s.in_channels, s.out_channels, s.kernel_h, s.kernel_w, s.stride_h,
                           s.stride_w, s.pad_h, s.pad_w, l.take(s.name + ".weight"),
                           s.bias ? l.take(s.name + ".bias") : std::vector<float>{});
  op.weight_name = s.name + ".weight";
  l.add(std::move(op));
}

void register_conv2d_layer(LayerKindRegistry& registry) {
  registry.add<Conv2dSpec>();
}

}  // namespace ocrcore::detail
