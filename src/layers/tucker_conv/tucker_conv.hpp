#pragma once

#include "layers/conv2d/conv2d.hpp"

namespace ocrcore::detail {

template <>
struct LayerKind<TuckerConvSpec> {
  static constexpr std::string_view type_name = "tucker_conv";
  static TuckerConvSpec parse(FieldReader& f);
  static void write(const TuckerConvSpec& s, json& j);
  static void check(const TuckerConvSpec& s, ShapeCheck& c) { check_convolution(s, c); }
  static void tensors(const TuckerConvSpec& s, std::vector<TensorRequirement>& out);
  static std::int64_t parameters(const TuckerConvSpec& s);
  static void count(const TuckerConvSpec& s, WorkCount& w);
  static int output_width(const TuckerConvSpec& s, int width) {
    return conv_out(width, s.kernel_w, s.stride_w, s.pad_w);
  }
  static int width_stride(const TuckerConvSpec& s) { return s.stride_w; }
};

}  // namespace ocrcore::detail
