#pragma once

namespace ocrcore::detail {

// Output length of a convolution along one axis (PyTorch's formula).
inline int conv_out(int in, int kernel, int stride, int pad) {
  int span = in + 2 * pad - kernel;
  return span < 0 ? 0 : span / stride + 1;
}

// Output length of max pooling along one axis, PyTorch's formula including its
// rule that the last window must start inside the input or the left padding.
inline int pool_out(int in, int kernel, int stride, int pad, bool ceil_mode) {
  const int span = in + 2 * pad - kernel + (ceil_mode ? stride - 1 : 0);
  // Division rounding towards minus infinity, as PyTorch's div_rtn.
  int out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out < 0 ? 0 : out;
}

}  // namespace ocrcore::detail
