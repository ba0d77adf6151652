#pragma once

#include "runtime/graph/compiled_network.hpp"

namespace ocrcore::detail {

struct PoolOp final : Op {
  int kernel_h = 2, kernel_w = 2, stride_h = 2, stride_w = 2, pad_h = 0, pad_w = 0;
  bool ceil_mode = false;

  PoolOp() = default;
  PoolOp(int kh, int kw, int sh, int sw, int ph, int pw, bool ceil)
      : kernel_h(kh),
        kernel_w(kw),
        stride_h(sh),
        stride_w(sw),
        pad_h(ph),
        pad_w(pw),
        ceil_mode(ceil) {}
  std::string describe() const override { return "maxpool"; }
  void reference(ReferenceValue& value, const ReferenceArithmetic& arithmetic) const override;
  bool output_nonnegative(bool input_nonnegative) const override { return input_nonnegative; }
};

}  // namespace ocrcore::detail
