#include "nn/reference_layers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/bfloat16.hpp"
#include "nn/shapes.hpp"

namespace ocrcore::detail {

FeatureMap conv2d_reference(const FeatureMap& in, const ConvOp& op) {
  const int oh = conv_out(in.height, op.kernel_h, op.stride_h, op.pad_h);
  const int ow = conv_out(in.width, op.kernel_w, op.stride_w, op.pad_w);
  FeatureMap out(op.out_channels, oh, ow);
  for (int o = 0; o < op.out_channels; ++o) {
    for (int y = 0; y < oh; ++y) {
      for (int x = 0; x < ow; ++x) {
        double acc = op.bias[o];
        for (int c = 0; c < op.in_channels; ++c) {
          for (int ky = 0; ky < op.kernel_h; ++ky) {
            const int iy = y * op.stride_h - op.pad_h + ky;
            if (iy < 0 || iy >= in.height) continue;
            for (int kx = 0; kx < op.kernel_w; ++kx) {
              const int ix = x * op.stride_w - op.pad_w + kx;
              if (ix < 0 || ix >= in.width) continue;
              const float w =
                  op.weight[((static_cast<std::size_t>(o) * op.in_channels + c) * op.kernel_h +
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

FeatureMap maxpool_reference(const FeatureMap& in, const PoolOp& op) {
  const int oh = pool_out(in.height, op.kernel_h, op.stride_h, op.pad_h, op.ceil_mode);
  const int ow = pool_out(in.width, op.kernel_w, op.stride_w, op.pad_w, op.ceil_mode);
  FeatureMap out(in.channels, oh, ow);
  for (int c = 0; c < in.channels; ++c) {
    for (int y = 0; y < oh; ++y) {
      for (int x = 0; x < ow; ++x) {
        float best = -std::numeric_limits<float>::infinity();
        for (int ky = 0; ky < op.kernel_h; ++ky) {
          const int iy = y * op.stride_h - op.pad_h + ky;
          if (iy < 0 || iy >= in.height) continue;
          for (int kx = 0; kx < op.kernel_w; ++kx) {
            const int ix = x * op.stride_w - op.pad_w + kx;
            if (ix < 0 || ix >= in.width) continue;
            best = std::max(best, in.at(c, iy, ix));
          }
        }
        out.at(c, y, x) = best;
      }
    }
  }
  return out;
}

void relu_reference(std::vector<float>& values) {
  for (float& v : values)
    v = std::max(v, 0.0f);
}

Sequence collapse_reference(const FeatureMap& in) {
  Sequence out(in.width, in.channels * in.height);
  for (int t = 0; t < in.width; ++t)
    for (int c = 0; c < in.channels; ++c)
      for (int y = 0; y < in.height; ++y)
        out.row(t)[c * in.height + y] = in.at(c, y, t);
  return out;
}

namespace {

double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

// One direction of one layer over the whole sequence, writing hidden states
// into columns [column, column + N) of `out`.
void lstm_direction_reference(const Sequence& in, const LstmDirection& w, int hidden, bool reverse,
                              Sequence& out, int column) {
  const int N = hidden, D = in.features;
  std::vector<double> h(N, 0.0), c(N, 0.0), gates(4 * N);
  for (int step = 0; step < in.frames; ++step) {
    const int t = reverse ? in.frames - 1 - step : step;
    const float* x = in.row(t);
    for (int g = 0; g < 4 * N; ++g) {
      double acc = w.bias[g];
      for (int k = 0; k < D; ++k)
        acc += double(w.w_ih[static_cast<std::size_t>(g) * D + k]) * x[k];
      for (int k = 0; k < N; ++k)
        acc += double(w.w_hh[static_cast<std::size_t>(g) * N + k]) * h[k];
      gates[g] = acc;
    }
    for (int j = 0; j < N; ++j) {
      const double i = sigmoid(gates[j]);
      const double f = sigmoid(gates[N + j]);
      const double gg = std::tanh(gates[2 * N + j]);
      const double o = sigmoid(gates[3 * N + j]);
      c[j] = f * c[j] + i * gg;
      h[j] = o * std::tanh(c[j]);
      out.row(t)[column + j] = static_cast<float>(h[j]);
    }
  }
}

}  // namespace

Sequence lstm_reference(const Sequence& in, const LstmOp& op) {
  Sequence x = in;
  for (int l = 0; l < op.num_layers; ++l) {
    Sequence y(x.frames, op.hidden_size * op.directions());
    for (int d = 0; d < op.directions(); ++d)
      lstm_direction_reference(x, op.layers[l][d], op.hidden_size, d == 1, y, d * op.hidden_size);
    x = std::move(y);
  }
  return x;
}

Sequence linear_reference(const Sequence& in, const LinearOp& op) {
  Sequence out(in.frames, op.out_features);
  for (int t = 0; t < in.frames; ++t) {
    for (int o = 0; o < op.out_features; ++o) {
      double acc = op.bias[o];
      for (int k = 0; k < op.in_features; ++k)
        acc += double(op.weight[static_cast<std::size_t>(o) * op.in_features + k]) * in.row(t)[k];
      float v = static_cast<float>(acc);
      out.row(t)[o] = op.relu ? std::max(v, 0.0f) : v;
    }
  }
  return out;
}

void log_softmax_reference(Sequence& s) {
  for (int t = 0; t < s.frames; ++t) {
    float* r = s.row(t);
    double m = *std::max_element(r, r + s.features), sum = 0;
    for (int k = 0; k < s.features; ++k)
      sum += std::exp(double(r[k]) - m);
    // (x - m) - log(sum): m + log(sum) would round log(sum) away for huge logits.
    const double log_sum = std::log(sum);
    for (int k = 0; k < s.features; ++k)
      r[k] = static_cast<float>((r[k] - m) - log_sum);
  }
}

}  // namespace ocrcore::detail
