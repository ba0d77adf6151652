#include <string>

#include "layers/conv2d/conv2d.hpp"
#include "layers/conv2d/conv2d_op.hpp"
#include "layers/layer_registry.hpp"
#include "runtime/graph/lowering.hpp"
#include "runtime/graph/quantization.hpp"

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

ConvOp make_conv_op(int in_channels, int out_channels, int kh, int kw, int sh, int sw, int ph,
                    int pw, std::vector<float> weight, std::vector<float> bias) {
  ConvOp op;
  op.in_channels = in_channels;
  op.out_channels = out_channels;
  op.kernel_h = kh;
  op.kernel_w = kw;
  op.stride_h = sh;
  op.stride_w = sw;
  op.pad_h = ph;
  op.pad_w = pw;
  op.weight = std::move(weight);
  op.bias = bias.empty() ? std::vector<float>(static_cast<std::size_t>(out_channels), 0.0f)
                         : std::move(bias);
  return op;
}

std::string ConvOp::describe() const {
  return "conv " + std::to_string(in_channels) + "->" + std::to_string(out_channels) + " " +
         std::to_string(kernel_h) + "x" + std::to_string(kernel_w) +
         (groups > 1 ? " groups " + std::to_string(groups) : std::string());
}

// Output channel o's weights scaled by scale[o] and its bias mapped: exactly
// the map applied after the convolution.
bool ConvOp::fold_scale_shift(const ScaleShiftOp& map) {
  if (relu || map.scale.size() != static_cast<std::size_t>(out_channels)) return false;
  const std::size_t per_out = weight.size() / out_channels;
  for (int o = 0; o < out_channels; ++o) {
    const double scale = map.scale[o];
    for (std::size_t i = 0; i < per_out; ++i)
      weight[o * per_out + i] = static_cast<float>(weight[o * per_out + i] * scale);
    bias[o] = static_cast<float>((bias[o] - map.center[o]) * scale + map.shift[o]);
  }
  return true;
}

Int8Rows ConvOp::int8_weights() const {
  return quantize_rows(weight, static_cast<std::size_t>(out_channels));
}

bool ConvOp::fuse_relu() {
  if (relu) return false;
  relu = true;
  return true;
}

void register_conv2d_layer(LayerKindRegistry& registry) {
  registry.add<Conv2dSpec>();
}

}  // namespace ocrcore::detail
