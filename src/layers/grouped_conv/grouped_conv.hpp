#pragma once

#include "layers/conv2d/conv2d.hpp"

namespace ocrcore {

// A grouped convolution (PyTorch's Conv2d with groups): the input and output
// channels split into `groups` groups, output group g computed from input
// group g only, so it has 1/groups of a full convolution's weights and work.
// groups == in_channels is a depthwise convolution. A compression baseline
// against Tucker-2 (the method's predecessor compared the two).
struct GroupedConvSpec {
  std::string name;
  int in_channels = 0, out_channels = 0;
  int kernel_h = 3, kernel_w = 3;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int groups = 1;
  bool bias = true;
};

}  // namespace ocrcore

namespace ocrcore::detail {

template <>
struct LayerKind<GroupedConvSpec> : ConvolutionLayerKind {
  static constexpr std::string_view type_name = "grouped_conv";
  static GroupedConvSpec parse(FieldReader& f);
  static void write(const GroupedConvSpec& s, json& j) {
    write_convolution_fields(s, j);
    j["groups"] = s.groups;
  }
  static void tensors(const GroupedConvSpec& s, std::vector<TensorRequirement>& out);
  static std::int64_t parameters(const GroupedConvSpec& s);
  static void count(const GroupedConvSpec& s, WorkCount& w);
  static void lower(const GroupedConvSpec& s, Lowering& lowering);
};

}  // namespace ocrcore::detail
