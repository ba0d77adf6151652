#pragma once

// Kernels written once over a vector "traits" type S (see avx2/ and avx512/),
// instantiated in a source file compiled for that instruction set. S provides
// V (a vector of S::width floats), M (a lane mask) and thin wrappers around
// the intrinsics.
//
// exp, sigmoid and tanh are evaluated in single precision to within a few
// ulp (the tests hold them to 1e-6 relative against double precision):
// exp by range reduction x = n ln2 + r, |r| <= ln2/2, and a degree-6
// polynomial for e^r (Cephes' expf coefficients); tanh by an odd polynomial
// below |x| = 0.625, where 1 - 2/(e^2x + 1) would cancel, and by that formula
// above.

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/kernels/kernels.hpp"

namespace ocrcore::detail::kernels::simd {

template <class S>
typename S::V exp(typename S::V x) {
  using V = typename S::V;
  // e^x stays a normal float: 2^n for n in [-126, 127].
  x = S::min(S::max(x, S::set1(-87.3f)), S::set1(88.3f));
  const V n = S::round(S::mul(x, S::set1(1.44269504088896341f)));
  V r = S::fnmadd(n, S::set1(0.693359375f), x);  // ln 2 split in two so that n ln2 is exact
  r = S::fnmadd(n, S::set1(-2.12194440e-4f), r);
  V p = S::set1(1.9875691500e-4f);
  p = S::fmadd(p, r, S::set1(1.3981999507e-3f));
  p = S::fmadd(p, r, S::set1(8.3334519073e-3f));
  p = S::fmadd(p, r, S::set1(4.1665795894e-2f));
  p = S::fmadd(p, r, S::set1(1.6666665459e-1f));
  p = S::fmadd(p, r, S::set1(5.0000001201e-1f));
  const V y = S::fmadd(p, S::mul(r, r), S::add(r, S::set1(1.0f)));
  return S::mul(y, S::pow2(n));
}

template <class S>
typename S::V sigmoid(typename S::V x) {
  const auto one = S::set1(1.0f);
  return S::div(one, S::add(one, exp<S>(S::neg(x))));
}

template <class S>
typename S::V tanh(typename S::V x) {
  using V = typename S::V;
  const V a = S::abs(x);
  const V z = S::mul(x, x);
  V p = S::set1(-5.70498872745e-3f);
  p = S::fmadd(p, z, S::set1(2.06390887954e-2f));
  p = S::fmadd(p, z, S::set1(-5.37397155531e-2f));
  p = S::fmadd(p, z, S::set1(1.33314422036e-1f));
  p = S::fmadd(p, z, S::set1(-3.33332819422e-1f));
  const V small = S::fmadd(S::mul(p, z), x, x);
  const V e = exp<S>(S::add(a, a));
  const V large = S::sub(S::set1(1.0f), S::div(S::set1(2.0f), S::add(e, S::set1(1.0f))));
  return S::select(S::less(a, S::set1(0.625f)), small, S::copy_sign(large, x));
}

// Applies f to n floats; the tail goes through a zero-padded vector so every
// element sees the same arithmetic.
template <class S, class F>
void map(const float* in, float* out, std::size_t n, F f) {
  constexpr int W = S::width;
  std::size_t i = 0;
  for (; i + W <= n; i += W)
    S::store(out + i, f(S::load(in + i)));
  if (i < n) {
    float tmp[W] = {};
    std::memcpy(tmp, in + i, (n - i) * sizeof(float));
    S::store(tmp, f(S::load(tmp)));
    std::memcpy(out + i, tmp, (n - i) * sizeof(float));
  }
}

template <class S>
void exp_n(const float* in, float* out, std::size_t n) {
  map<S>(in, out, n, [](typename S::V v) { return exp<S>(v); });
}
template <class S>
void sigmoid_n(const float* in, float* out, std::size_t n) {
  map<S>(in, out, n, [](typename S::V v) { return sigmoid<S>(v); });
}
template <class S>
void tanh_n(const float* in, float* out, std::size_t n) {
  map<S>(in, out, n, [](typename S::V v) { return tanh<S>(v); });
}

template <class S>
void log_softmax(const float* in, float* out, int n) {
  using V = typename S::V;
  constexpr int W = S::width;
  int k = 0;
  V vmax = S::set1(-INFINITY);
  for (; k + W <= n; k += W)
    vmax = S::max(vmax, S::load(in + k));
  float m = S::reduce_max(vmax);
  for (int j = k; j < n; ++j)
    m = std::max(m, in[j]);
  const V vm = S::set1(m);
  V vsum = S::zero();
  for (k = 0; k + W <= n; k += W)
    vsum = S::add(vsum, exp<S>(S::sub(S::load(in + k), vm)));
  float sum = S::reduce_add(vsum);
  for (int j = k; j < n; ++j)
    sum += std::exp(in[j] - m);
  // (x - m) - log(sum): see the generic kernel.
  const float log_sum = std::log(sum);
  const V vlog_sum = S::set1(log_sum);
  for (k = 0; k + W <= n; k += W)
    S::store(out + k, S::sub(S::sub(S::load(in + k), vm), vlog_sum));
  for (int j = k; j < n; ++j)
    out[j] = (in[j] - m) - log_sum;
}

template <class S>
float largest(const float* x, std::size_t n) {
  constexpr int W = S::width;
  typename S::V m = S::zero();
  std::size_t i = 0;
  // max(x, m): the second operand is kept where x is NaN.
  for (; i + W <= n; i += W)
    m = S::max(S::load(x + i), m);
  float result = S::reduce_max(m);
  for (; i < n; ++i)
    result = x[i] > result ? x[i] : result;
  return result;
}

// acc[l][:] = bias + W_hh h[l] for LB lines (h rows contiguous, N floats
// each), VB vectors of gate columns at a time held in registers. Each FMA
// chain waits for the previous FMA's result, so with few lines the k loop is
// split over KS accumulator sets to keep enough chains in flight (at batch 1
// this doubles the step's speed).
template <class S, int LB, int VB, int KS>
void recurrent_product(const PackedRecurrent& w, const float* h, float* acc, bool reverse) {
  using V = typename S::V;
  constexpr int W = S::width;
  const int N = w.hidden;
  const int chunks = w.padded / (VB * W);
  for (int q = 0; q < chunks; ++q) {
    const int j0 = (reverse ? chunks - 1 - q : q) * VB * W;
    const float* col = w.block(j0 / kGatePadding) + j0 % kGatePadding;
    V a[KS][LB][VB];
#pragma GCC unroll 8
    for (int l = 0; l < LB; ++l)
#pragma GCC unroll 8
      for (int v = 0; v < VB; ++v) {
        a[0][l][v] = S::load(w.bias.data() + j0 + v * W);
#pragma GCC unroll 8
        for (int ks = 1; ks < KS; ++ks)
          a[ks][l][v] = S::zero();
      }
    auto step = [&](int ks, int k) {
      const float* row = col + static_cast<std::size_t>(k) * kGatePadding;
#pragma GCC unroll 8
      for (int l = 0; l < LB; ++l) {
        const V hb = S::set1(h[l * N + k]);
#pragma GCC unroll 8
        for (int v = 0; v < VB; ++v)
          a[ks][l][v] = S::fmadd(hb, S::load(row + v * W), a[ks][l][v]);
      }
    };
    int k = 0;
    for (; k + KS <= N; k += KS)
#pragma GCC unroll 8
      for (int ks = 0; ks < KS; ++ks)
        step(ks, k + ks);
    for (; k < N; ++k)
      step(0, k);
#pragma GCC unroll 8
    for (int l = 0; l < LB; ++l)
#pragma GCC unroll 8
      for (int v = 0; v < VB; ++v) {
#pragma GCC unroll 8
        for (int ks = 1; ks < KS; ++ks)
          a[0][l][v] = S::add(a[0][l][v], a[ks][l][v]);
        S::store(acc + static_cast<std::size_t>(l) * w.padded + j0 + v * W, a[0][l][v]);
      }
  }
}

// The cell update of one line from its recurrent product `acc`.
template <class S>
void lstm_cell(const float* g, const float* acc, int N, float* c, float* h, float* y) {
  using V = typename S::V;
  constexpr int W = S::width;
  int j = 0;
  for (; j + W <= N; j += W) {
    const V i_g = sigmoid<S>(S::add(S::load(g + j), S::load(acc + j)));
    const V f_g = sigmoid<S>(S::add(S::load(g + N + j), S::load(acc + N + j)));
    const V g_g = tanh<S>(S::add(S::load(g + 2 * N + j), S::load(acc + 2 * N + j)));
    const V o_g = sigmoid<S>(S::add(S::load(g + 3 * N + j), S::load(acc + 3 * N + j)));
    const V cn = S::fmadd(f_g, S::load(c + j), S::mul(i_g, g_g));
    const V hn = S::mul(o_g, tanh<S>(cn));
    S::store(c + j, cn);
    S::store(h + j, hn);
    S::store(y + j, hn);
  }
  for (; j < N; ++j) {  // hidden sizes that are not a multiple of the vector width
    auto sig = [](float x) { return 1.0f / (1.0f + std::exp(-x)); };
    const float i_g = sig(g[j] + acc[j]), f_g = sig(g[N + j] + acc[N + j]);
    const float g_g = std::tanh(g[2 * N + j] + acc[2 * N + j]);
    const float o_g = sig(g[3 * N + j] + acc[3 * N + j]);
    c[j] = f_g * c[j] + i_g * g_g;
    h[j] = o_g * std::tanh(c[j]);
    y[j] = h[j];
  }
}

template <class S, int VB>
void lstm_step(const LstmStep& s) {
  const PackedRecurrent& w = *s.weights;
  const int N = w.hidden;
  int b = 0;
  while (b < s.lines) {
    const int lines = std::min(kStepLines, s.lines - b);
    const float* h = s.h + static_cast<std::size_t>(b) * N;
    // Every line of the block reads its old h before any is overwritten.
    switch (lines) {
      case 4:
        recurrent_product<S, 4, VB, 1>(w, h, s.scratch, s.reverse_columns);
        break;
      case 3:
        recurrent_product<S, 3, VB, 1>(w, h, s.scratch, s.reverse_columns);
        break;
      case 2:
        recurrent_product<S, 2, VB, 2>(w, h, s.scratch, s.reverse_columns);
        break;
      default:
        recurrent_product<S, 1, VB, 4>(w, h, s.scratch, s.reverse_columns);
        break;
    }
    for (int l = 0; l < lines; ++l, ++b)
      lstm_cell<S>(s.gates_in + b * s.gates_stride,
                   s.scratch + static_cast<std::size_t>(l) * w.padded, N,
                   s.c + static_cast<std::size_t>(b) * N, s.h + static_cast<std::size_t>(b) * N,
                   s.y + b * s.y_stride);
  }
}

// See ImageConv. Channels are processed S::width at a time (the caller
// checks a.channels and the output blocking allow that), with that vector's
// nine weights held in registers while it sweeps the image.
template <class S>
void image_conv(const ImageConv& a) {
  using V = typename S::V;
  constexpr int W = S::width;
  const std::size_t st = a.input_stride;
  const V zero = S::zero();
  for (int c0 = 0; c0 < a.channels; c0 += W) {
    V w[9];
#pragma GCC unroll 9
    for (int k = 0; k < 9; ++k)
      w[k] = S::load(a.weights + k * a.channels + c0);
    const V bias = S::load(a.bias + c0);
    float* out_c = a.output + (c0 / a.out_block) * a.out_sc + c0 % a.out_block;
    for (int y = a.row_begin; y < a.row_end; ++y) {
      float* out = out_c + y * a.out_sy;
      if (!a.pool) {
        const float* in = a.input + static_cast<std::size_t>(y) * st;
        for (int x = 0; x < a.out_cols; ++x) {
          V acc = bias;
#pragma GCC unroll 3
          for (int ky = 0; ky < 3; ++ky)
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; ++kx)
              acc = S::fmadd(S::set1(in[ky * st + x + kx]), w[ky * 3 + kx], acc);
          if (a.relu) acc = S::max(acc, zero);
          S::store(out + x * a.out_sx, acc);
        }
        continue;
      }
      // Four conv outputs (two rows, two columns) per pooled output: a 4x4
      // input window, each input pixel broadcast once per tap that uses it.
      const float* in = a.input + static_cast<std::size_t>(2 * y) * st;
      for (int x = 0; x < a.out_cols; ++x) {
        const float* p = in + 2 * x;
        V a00 = bias, a01 = bias, a10 = bias, a11 = bias;
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ++ky)
#pragma GCC unroll 3
          for (int kx = 0; kx < 3; ++kx) {
            const V wk = w[ky * 3 + kx];
            const float* q = p + ky * st + kx;
            a00 = S::fmadd(S::set1(q[0]), wk, a00);
            a01 = S::fmadd(S::set1(q[1]), wk, a01);
            a10 = S::fmadd(S::set1(q[st]), wk, a10);
            a11 = S::fmadd(S::set1(q[st + 1]), wk, a11);
          }
        V m = S::max(S::max(a00, a01), S::max(a10, a11));
        if (a.relu) m = S::max(m, zero);
        S::store(out + x * a.out_sx, m);
      }
    }
  }
}

// RB rows x VB vectors of a dense layer's outputs from column c0: each
// input value is broadcast once and meets VB weight vectors, the weights
// of a k loaded once for RB rows.
template <class S, int RB, int VB>
void dense_block(const DenseProjection& p, int r0, int c0) {
  using V = typename S::V;
  constexpr int W = S::width;
  const PackedDense& w = *p.weights;
  V a[RB][VB];
#pragma GCC unroll 8
  for (int l = 0; l < RB; ++l)
#pragma GCC unroll 8
    for (int v = 0; v < VB; ++v)
      a[l][v] = S::load(w.bias.data() + c0 + v * W);
  const float* x = p.x + static_cast<std::size_t>(r0) * p.x_stride;
  const float* col = w.w.data() + c0;
  for (int i = 0; i < w.k; ++i) {
    const float* row = col + static_cast<std::size_t>(i) * w.padded;
    V wv[VB];
#pragma GCC unroll 8
    for (int v = 0; v < VB; ++v)
      wv[v] = S::load(row + v * W);
#pragma GCC unroll 8
    for (int l = 0; l < RB; ++l) {
      const V xb = S::set1(x[l * p.x_stride + i]);
#pragma GCC unroll 8
      for (int v = 0; v < VB; ++v)
        a[l][v] = S::fmadd(xb, wv[v], a[l][v]);
    }
  }
  const int valid = w.rows - c0;  // outputs of this block that exist
#pragma GCC unroll 8
  for (int l = 0; l < RB; ++l)
#pragma GCC unroll 8
    for (int v = 0; v < VB; ++v) {
      const V r = p.relu ? S::max(a[l][v], S::zero()) : a[l][v];
      float* out = p.out + static_cast<std::size_t>(r0 + l) * p.out_stride + c0 + v * W;
      const int n = valid - v * W;
      if (n >= W) {
        S::store(out, r);
      } else if (n > 0) {  // the padding is not written: rows may be packed tightly
        float tmp[W];
        S::store(tmp, r);
        std::memcpy(out, tmp, static_cast<std::size_t>(n) * sizeof(float));
      }
    }
}

template <class S, int VB, int RB>
void dense_rows(const DenseProjection& p, int r0) {
  constexpr int W = S::width;
  const int padded = p.weights->padded;
  int c = 0;
  for (; c + VB * W <= padded; c += VB * W)
    dense_block<S, RB, VB>(p, r0, c);
  for (; c < padded; c += W)
    dense_block<S, RB, 1>(p, r0, c);
}

template <class S, int VB>
void dense(const DenseProjection& p) {
  static_assert(kDensePadding % S::width == 0, "dense padding must hold whole vectors");
  int r = 0;
  for (; r + 4 <= p.rows; r += 4)
    dense_rows<S, VB, 4>(p, r);
  for (; r < p.rows; ++r)
    dense_rows<S, VB, 1>(p, r);
}

template <class S, int VB>
KernelTable make_table(Isa isa) {
  static_assert(kGatePadding % (VB * S::width) == 0, "gate padding must hold whole blocks");
  static_assert(kStepLines == 4, "lstm_step dispatches blocks of up to 4 lines");
  KernelTable t;  // the int8 kernels are the instruction set's own (null here)
  t.isa = isa;
  t.lstm_step = lstm_step<S, VB>;
  t.log_softmax = log_softmax<S>;
  t.largest = largest<S>;
  t.image_conv = image_conv<S>;
  t.dense = dense<S, VB>;
  t.exp = exp_n<S>;
  t.sigmoid = sigmoid_n<S>;
  t.tanh = tanh_n<S>;
  return t;
}

}  // namespace ocrcore::detail::kernels::simd
