#pragma once

// tucker_conv compiled: its factors as convolutions.

#include "layers/conv2d/conv2d_op.hpp"

namespace ocrcore::detail {

// Tucker-2 chain: optional 1x1 input factor, k x k core, 1x1 output factor
// (the fused ReLU, if any, is on `out`).
struct TuckerOp final : Op {
  bool has_in = false;
  ConvOp in, core, out;

  std::string describe() const override;
  void reference(ReferenceValue& value, const ReferenceArithmetic& arithmetic) const override;
  bool fold_scale_shift(const ScaleShiftOp& map) override { return out.fold_scale_shift(map); }
  bool fuse_relu() override { return out.fuse_relu(); }
  bool bf16_capable() const override { return true; }
  bool output_nonnegative(bool) const override { return out.relu; }
};

// The single convolution a Tucker chain computes: W = U_out * core * U_in
// (exact up to rounding, since the input and core factors carry no bias).
ConvOp compose_tucker(const TuckerOp& op);

// Multiply-adds per output pixel of the chain and of its composed convolution.
double tucker_chain_macs(const TuckerOp& op);
double tucker_composed_macs(const TuckerOp& op);

}  // namespace ocrcore::detail
