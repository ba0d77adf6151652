#pragma once

// conv2d compiled: what the engines run (batch norm folded in, ReLU fused).

#include <string>
#include <vector>

#include "runtime/graph/compiled_network.hpp"

namespace ocrcore::detail {

// A convolution; with groups > 1 its input and output channels split into
// that many groups, output group g seeing input group g only (a grouped or,
// with groups == in_channels, depthwise convolution).
struct ConvOp final : Op {
  int in_channels = 0, out_channels = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  int groups = 1;
  bool relu = false;
  std::vector<float> weight;  // [out][in / groups][kh][kw]
  std::vector<float> bias;    // [out]
  std::string weight_name;    // the model's tensor, for a conv2d layer (not a Tucker factor)

  std::string describe() const override;
  void reference(ReferenceValue& value, const ReferenceArithmetic& arithmetic) const override;
  bool fold_scale_shift(const ScaleShiftOp& map) override;
  bool fuse_relu() override;
  bool int8_capable() const override { return true; }
  bool bf16_capable() const override { return true; }
  bool output_nonnegative(bool) const override { return relu; }
  Int8Rows int8_weights() const override;
  void int8_stored_tensors(bool runs_int8, std::vector<std::string>& names) const override {
    if (runs_int8) names.push_back(weight_name);
  }
};

// A convolution op: `bias` empty means zeros.
ConvOp make_conv_op(int in_channels, int out_channels, int kernel_h, int kernel_w, int stride_h,
                    int stride_w, int pad_h, int pad_w, std::vector<float> weight,
                    std::vector<float> bias);

}  // namespace ocrcore::detail
