#pragma once

#include "layers/layer_kind.hpp"
#include "runtime/graph/shapes.hpp"

namespace ocrcore {

struct Conv2dSpec {
  std::string name;
  int in_channels = 0, out_channels = 0;
  int kernel_h = 3, kernel_w = 3;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  bool bias = true;
};

}  // namespace ocrcore

namespace ocrcore::detail {

// The fields conv2d and tucker_conv share, as PyTorch's Conv2d names them.
template <class Spec>
void read_convolution_fields(FieldReader& f, Spec& s) {
  s.name = f.string("name");
  s.in_channels = f.integer("in_channels", std::nullopt, 1);
  s.out_channels = f.integer("out_channels", std::nullopt, 1);
  std::tie(s.kernel_h, s.kernel_w) = f.pair("kernel_size", std::nullopt, 1);
  std::tie(s.stride_h, s.stride_w) = f.pair("stride", std::pair{1, 1}, 1);
  std::tie(s.pad_h, s.pad_w) = f.pair("padding", std::pair{0, 0}, 0);
  s.bias = f.boolean("bias", true);
}

template <class Spec>
void write_convolution_fields(const Spec& s, json& j) {
  j["name"] = s.name;
  j["in_channels"] = s.in_channels;
  j["out_channels"] = s.out_channels;
  j["kernel_size"] = {s.kernel_h, s.kernel_w};
  j["stride"] = {s.stride_h, s.stride_w};
  j["padding"] = {s.pad_h, s.pad_w};
  j["bias"] = s.bias;
}

// A convolution's input check and output shape.
template <class Spec>
void check_convolution(const Spec& s, ShapeCheck& c) {
  c.need_feature_map();
  if (s.in_channels != c.shape.channels)
    c.fail("in_channels " + std::to_string(s.in_channels) + " but the input has " +
           std::to_string(c.shape.channels) + " channels");
  c.shape.height = conv_out(c.shape.height, s.kernel_h, s.stride_h, s.pad_h);
  c.shape.channels = s.out_channels;
  c.shape.after_convolution = true;
}

// What every convolution kind (conv2d, grouped_conv, tucker_conv) does alike:
// its shape rule and its width arithmetic.
struct ConvolutionLayerKind {
  template <class Spec>
  static void check(const Spec& s, ShapeCheck& c) {
    check_convolution(s, c);
  }
  template <class Spec>
  static int output_width(const Spec& s, int width) {
    return conv_out(width, s.kernel_w, s.stride_w, s.pad_w);
  }
  template <class Spec>
  static int width_stride(const Spec& s) {
    return s.stride_w;
  }
};

template <>
struct LayerKind<Conv2dSpec> : ConvolutionLayerKind {
  static constexpr std::string_view type_name = "conv2d";
  static Conv2dSpec parse(FieldReader& f);
  static void write(const Conv2dSpec& s, json& j) { write_convolution_fields(s, j); }
  static void tensors(const Conv2dSpec& s, std::vector<TensorRequirement>& out);
  static std::int64_t parameters(const Conv2dSpec& s);
  static void count(const Conv2dSpec& s, WorkCount& w);
  static void lower(const Conv2dSpec& s, Lowering& lowering);
};

}  // namespace ocrcore::detail
