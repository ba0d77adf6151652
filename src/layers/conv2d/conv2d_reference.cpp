#include "layers/conv2d/conv2d_reference.hpp"

#include <algorithm>
#include <cmath>

#include "runtime/core/bfloat16.hpp"
#include "runtime/graph/shapes.hpp"

namespace ocrcore::detail {

FeatureMap conv2d_reference(const FeatureMap& in, const ConvOp& op) {
  const int oh = conv_out(in.height, op.kernel_h, op.stride_h, op.pad_h);
  const int ow = conv_out(in.width, op.kernel_w, op.stride_w, op.pad_w);
  FeatureMap out(op.out_channels, oh, ow);
  // Output channel o sees the input channels of its group only.
  const int group_in = op.in_channels / op.groups, group_out = op.out_channels / op.groups;
  for (int o = 0; o < op.out_channels; ++o) {
    const int c0 = o / group_out * group_in;
    for (int y = 0; y < oh; ++y) {
      for (int x = 0; x < ow; ++x) {
        double acc = op.bias[o];
        for (int c = c0; c < c0 + group_in; ++c) {
          for (int ky = 0; ky < op.kernel_h; ++ky) {
            const int iy = y * op.stride_h - op.pad_h + ky;
            if (iy < 0 || iy >= in.height) continue;
            for (int kx = 0; kx < op.kernel_w; ++kx) {
              const int ix = x * op.stride_w - op.pad_w + kx;
              if (ix < 0 || ix >= in.width) continue;
              const float w =
                  op.weight[((static_cast<std::size_t>(o) * group_in + (c - c0)) * op.kernel_h +
                             ky) *
                                op.kernel_w +
                            kx];
              acc += double(w) * in.at(c, iy, ix);
            }
          }
        }
        float v = static_cast<float>(acc);
        out.at(o, y, x) = op.relu ? std::max(v, 0.0f) : v;
      }
    }
  }
  return out;
}

FeatureMap conv2d_int8_reference(const FeatureMap& in, const ConvOp& op, const Int8Rows& weights) {
  float largest = 0;
  for (float v : in.values)
    largest = std::max(largest, v);
  const float scale = int8_input_scale(largest);
  // The integer convolution: integers in, the plain convolution's double sums
  // exact, rounded to float once at the end as int32 sums are converted.
  FeatureMap q = in;
  for (float& v : q.values)
    v = std::clamp(std::nearbyint(v * scale), 0.0f, 255.0f);
  ConvOp integer = op;
  integer.weight.assign(weights.values.begin(), weights.values.end());
  integer.bias.assign(op.bias.size(), 0.0f);
  integer.relu = false;
  FeatureMap out = conv2d_reference(q, integer);
  const std::size_t plane = static_cast<std::size_t>(out.height) * out.width;
  for (int o = 0; o < out.channels; ++o)
    for (std::size_t i = 0; i < plane; ++i) {
      float& v = out.values[o * plane + i];
      v = static_cast<float>(double(v) / scale * weights.scale[o] + op.bias[o]);
      if (op.relu) v = std::max(v, 0.0f);
    }
  return out;
}

FeatureMap conv2d_bf16_reference(const FeatureMap& in, const ConvOp& op) {
  FeatureMap rounded = in;
  for (float& v : rounded.values)
    v = round_to_bf16(v);
  ConvOp bf16 = op;
  for (float& w : bf16.weight)
    w = round_to_bf16(w);
  return conv2d_reference(rounded, bf16);
}

void ConvOp::reference(ReferenceValue& v, const ReferenceArithmetic& arithmetic) const {
  v.map = arithmetic.int8   ? conv2d_int8_reference(v.map, *this, *arithmetic.int8)
          : arithmetic.bf16 ? conv2d_bf16_reference(v.map, *this)
                            : conv2d_reference(v.map, *this);
}

}  // namespace ocrcore::detail
