// Portable kernels: plain loops and libm, the baseline the vector paths are
// tested against and the path for CPUs without AVX2.

#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/kernels/kernels.hpp"

namespace ocrcore::detail::kernels {

namespace {

float sigmoid1(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}

// c and h of one line from its gate pre-activations a (i, f, g, o).
void cell_update(const float* a, int N, float* c, float* h, float* y) {
  for (int j = 0; j < N; ++j) {
    const float i_g = sigmoid1(a[j]), f_g = sigmoid1(a[N + j]);
    const float g_g = std::tanh(a[2 * N + j]), o_g = sigmoid1(a[3 * N + j]);
    c[j] = f_g * c[j] + i_g * g_g;
    h[j] = o_g * std::tanh(c[j]);
    y[j] = h[j];
  }
}

void lstm_step(const LstmStep& s) {
  const PackedRecurrent& w = *s.weights;
  const int N = w.hidden;
  for (int b = 0; b < s.lines; ++b) {
    float* a = s.scratch;
    const float* g = s.gates_in + b * s.gates_stride;
    for (int j = 0; j < 4 * N; ++j)
      a[j] = g[j] + w.bias[j];
    float* h = s.h + static_cast<std::size_t>(b) * N;
    float* c = s.c + static_cast<std::size_t>(b) * N;
    for (int j0 = 0; j0 < 4 * N; j0 += kGatePadding) {
      const float* block = w.block(j0 / kGatePadding);
      const int columns = std::min(kGatePadding, 4 * N - j0);
      for (int k = 0; k < N; ++k)
        for (int j = 0; j < columns; ++j)
          a[j0 + j] += h[k] * block[static_cast<std::size_t>(k) * kGatePadding + j];
    }
    cell_update(a, N, c, h, s.y + b * s.y_stride);
  }
}

float largest(const float* x, std::size_t n) {
  float result = 0;
  for (std::size_t i = 0; i < n; ++i)
    result = x[i] > result ? x[i] : result;
  return result;
}

void quantize_u8(const float* x, std::size_t n, float scale, std::uint8_t* q) {
  for (std::size_t i = 0; i < n; ++i)
    q[i] = quantize_to_byte(x[i], scale, 0.0f, 255.0f, 0);
}

void scale_bias_relu(float* x, std::size_t pixels, int channels, float step, const float* bias,
                     bool relu) {
  for (std::size_t p = 0; p < pixels; ++p, x += channels)
    for (int c = 0; c < channels; ++c) {
      const float v = x[c] * step + bias[c];
      x[c] = relu ? std::max(v, 0.0f) : v;
    }
}

void area_column(const float* column, int h, double start, double step, int H, float* out,
                 std::size_t out_stride) {
  // The same trip count for every output (an interval of length step meets
  // at most floor(step) + 2 rows; the others get weight 0), and the division
  // by step as a multiplication: mispredicted loop exits and the division's
  // latency were most of this pass.
  const int taps = static_cast<int>(std::floor(step)) + 2;
  const double inverse_step = 1.0 / step;
  for (int oy = 0; oy < H; ++oy) {
    const double lo = start + oy * step, hi = lo + step;
    const int first = static_cast<int>(std::floor(lo));
    float acc = 0;
    for (int k = 0; k < taps; ++k) {
      const int i = first + k;
      const bool inside = static_cast<unsigned>(i) < static_cast<unsigned>(h);
      const double wgt = std::max(0.0, std::min<double>(hi, i + 1) - std::max<double>(lo, i));
      acc += static_cast<float>(inside ? wgt * inverse_step : 0.0) * column[inside ? i : 0];
    }
    out[static_cast<std::size_t>(oy) * out_stride] = acc;
  }
}

void log_softmax(const float* in, float* out, int n) {
  const float m = *std::max_element(in, in + n);
  float sum = 0;
  for (int k = 0; k < n; ++k)
    sum += std::exp(in[k] - m);
  // (x - m) - log(sum), not x - (m + log(sum)): with logits of 1e10 the
  // latter rounds log(sum) away and the probabilities no longer sum to one.
  const float log_sum = std::log(sum);
  for (int k = 0; k < n; ++k)
    out[k] = (in[k] - m) - log_sum;
}

void image_conv(const ImageConv& a) {
  const int step = a.pool ? 2 : 1;
  auto conv_at = [&](const float* window, int c) {  // window: top-left input pixel
    float acc = a.bias[c];
    for (int ky = 0; ky < 3; ++ky)
      for (int kx = 0; kx < 3; ++kx)
        acc += window[ky * a.input_stride + kx] * a.weights[(ky * 3 + kx) * a.channels + c];
    return acc;
  };
  for (int y = a.row_begin; y < a.row_end; ++y)
    for (int x = 0; x < a.out_cols; ++x) {
      const float* p = a.input + static_cast<std::size_t>(y) * step * a.input_stride + x * step;
      for (int c = 0; c < a.channels; ++c) {
        float v = conv_at(p, c);
        if (a.pool)
          v = std::max(
              std::max(v, conv_at(p + 1, c)),
              std::max(conv_at(p + a.input_stride, c), conv_at(p + a.input_stride + 1, c)));
        if (a.relu) v = std::max(v, 0.0f);
        a.output[y * a.out_sy + x * a.out_sx + (c / a.out_block) * a.out_sc + c % a.out_block] = v;
      }
    }
}

// The int8 step's arithmetic, plainly: exact integer dot products, then the
// same float formula as the vector kernels (see PackedRecurrentInt8).
void lstm_step_int8(const LstmStep& s) {
  const PackedRecurrentInt8& w = *s.weights_int8;
  const int N = w.hidden;
  std::vector<std::uint8_t> hq(static_cast<std::size_t>(w.k_groups) * 4, 128);
  for (int b = 0; b < s.lines; ++b) {
    float* a = s.scratch;
    const float* g = s.gates_in + b * s.gates_stride;
    float* h = s.h + static_cast<std::size_t>(b) * N;
    float* c = s.c + static_cast<std::size_t>(b) * N;
    for (int k = 0; k < N; ++k)
      hq[k] = quantize_input(h[k], 127.0f);
    for (int r = 0; r < 4 * N; ++r) {
      const std::int8_t* block = w.block(r / kGatePadding);
      std::int32_t dot = 0;
      for (int k = 0; k < N; ++k)
        dot +=
            static_cast<std::int32_t>(hq[k]) *
            block[(static_cast<std::size_t>(k / 4) * kGatePadding + r % kGatePadding) * 4 + k % 4];
      a[r] = g[r] + (static_cast<float>(dot - w.zero_term[r]) * w.scale[r] + w.bias[r]);
    }
    cell_update(a, N, c, h, s.y + b * s.y_stride);
  }
}

// The int8 projection's arithmetic, plainly (see PackedInt8Rows).
void int8_projection(const Int8Projection& p) {
  const PackedInt8Rows& w = *p.weights;
  std::vector<std::uint8_t> xq(static_cast<std::size_t>(w.k_groups) * 4, 128);
  for (int r = 0; r < p.rows; ++r) {
    const float* x = p.x + r * p.x_stride;
    const float sx = projection_scale(x, w.k);
    for (int i = 0; i < w.k; ++i)
      xq[i] = quantize_input(x[i], 1.0f / sx);
    float* out = p.out + r * p.out_stride;
    for (int c = 0; c < w.rows; ++c) {
      const std::int8_t* block = w.block(c / kGatePadding);
      std::int32_t dot = 0;
      for (int i = 0; i < w.k; ++i)
        dot +=
            static_cast<std::int32_t>(xq[i]) *
            block[(static_cast<std::size_t>(i / 4) * kGatePadding + c % kGatePadding) * 4 + i % 4];
      out[c] = static_cast<float>(dot - w.zero_term[c]) * (w.scale[c] * sx);
    }
  }
}

// The dense layer, plainly: each output a sum over k in order.
void dense(const DenseProjection& p) {
  const PackedDense& w = *p.weights;
  for (int r = 0; r < p.rows; ++r) {
    const float* x = p.x + r * p.x_stride;
    float* out = p.out + r * p.out_stride;
    for (int c = 0; c < w.rows; ++c) {
      float acc = w.bias[c];
      for (int i = 0; i < w.k; ++i)
        acc += x[i] * w.w[static_cast<std::size_t>(i) * w.padded + c];
      out[c] = p.relu ? std::max(acc, 0.0f) : acc;
    }
  }
}

void exp_n(const float* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    out[i] = std::exp(in[i]);
}
void sigmoid_n(const float* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    out[i] = sigmoid1(in[i]);
}
void tanh_n(const float* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    out[i] = std::tanh(in[i]);
}

}  // namespace

const KernelTable& generic_kernels() {
  static const KernelTable table = [] {
    KernelTable t;
    t.isa = Isa::generic;
    t.lstm_step = lstm_step;
    t.lstm_step_int8 = lstm_step_int8;
    t.log_softmax = log_softmax;
    t.largest = largest;
    t.quantize_u8 = quantize_u8;
    t.area_column = area_column;
    t.scale_bias_relu = scale_bias_relu;
    t.image_conv = image_conv;
    t.int8_projection = int8_projection;
    t.dense = dense;
    t.exp = exp_n;
    t.sigmoid = sigmoid_n;
    t.tanh = tanh_n;
    return t;
  }();
  return table;
}

}  // namespace ocrcore::detail::kernels
