#pragma once

#include "layers/conv2d/conv2d.hpp"

namespace ocrcore {

// A convolution stored as its Tucker-2 factors: 1x1 (C -> R1), k x k core
// (R1 -> R2, the original stride and padding), 1x1 (R2 -> S, with bias).
// rank_in == 0 means no input factor (the core reads the C input channels
// directly): Tucker-1 for one-channel layers, truncated SVD for 1x1 layers.
struct TuckerConvSpec {
  std::string name;
  int in_channels = 0, out_channels = 0;
  int kernel_h = 3, kernel_w = 3;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int rank_in = 0, rank_out = 0;
  bool bias = true;
};

}  // namespace ocrcore

namespace ocrcore::detail {

template <>
struct LayerKind<TuckerConvSpec> : ConvolutionLayerKind {
  static constexpr std::string_view type_name = "tucker_conv";
  static TuckerConvSpec parse(FieldReader& f);
  static void write(const TuckerConvSpec& s, json& j);
  static void tensors(const TuckerConvSpec& s, std::vector<TensorRequirement>& out);
  static std::int64_t parameters(const TuckerConvSpec& s);
  static void count(const TuckerConvSpec& s, WorkCount& w);
  static void lower(const TuckerConvSpec& s, Lowering& lowering);
};

}  // namespace ocrcore::detail
