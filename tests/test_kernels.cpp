// ocrcore's per-instruction-set kernels against double precision and against
// the generic (plain C++) kernels, on every path this CPU can run.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>

#include "ocrcore/error.hpp"
#include "runtime/kernels/kernels.hpp"

using namespace ocrcore;
using namespace ocrcore::detail::kernels;

namespace {

class Kernels : public ::testing::TestWithParam<Isa> {
 protected:
  const KernelTable& table() const { return kernel_table(GetParam()); }
};

std::vector<float> uniform(std::size_t n, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v)
    x = u(rng);
  return v;
}

// Largest relative error of f against ref, ignoring results below `floor`
// (denormal territory, where single precision has no relative accuracy).
template <class F, class R>
double max_rel_error(F f, R ref, const std::vector<float>& x, double floor = 1e-30) {
  std::vector<float> y(x.size());
  f(x.data(), y.data(), x.size());
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double r = ref(static_cast<double>(x[i]));
    if (std::abs(r) < floor) continue;
    worst = std::max(worst, std::abs(y[i] - r) / std::abs(r));
  }
  return worst;
}

std::vector<float> test_inputs(float lo, float hi) {
  // Odd length, so the vector tails are exercised too.
  auto x = uniform(100003, lo, hi, 7);
  for (float s : {0.0f, -0.0f, 1e-8f, -1e-8f, 0.625f, -0.625f, 0.6249f, 9.0f, -9.0f, 20.0f, -20.0f,
                  80.0f, -80.0f})
    x.push_back(s);
  return x;
}

}  // namespace

TEST_P(Kernels, ExpIsAccurate) {
  auto x = test_inputs(-87.0f, 88.0f);
  EXPECT_LE(max_rel_error(
                table().exp, [](double v) { return std::exp(v); }, x),
            1e-6);
  auto small = test_inputs(-1.0f, 1.0f);
  EXPECT_LE(max_rel_error(
                table().exp, [](double v) { return std::exp(v); }, small),
            1e-6);
}

TEST_P(Kernels, SigmoidIsAccurate) {
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  EXPECT_LE(max_rel_error(table().sigmoid, sig, test_inputs(-80.0f, 80.0f)), 1e-6);
  EXPECT_LE(max_rel_error(table().sigmoid, sig, test_inputs(-5.0f, 5.0f)), 1e-6);
}

TEST_P(Kernels, TanhIsAccurate) {
  auto th = [](double v) { return std::tanh(v); };
  EXPECT_LE(max_rel_error(table().tanh, th, test_inputs(-30.0f, 30.0f)), 1e-6);
  EXPECT_LE(max_rel_error(table().tanh, th, test_inputs(-1.0f, 1.0f)), 1e-6);
  EXPECT_LE(max_rel_error(table().tanh, th, test_inputs(-1e-3f, 1e-3f)), 1e-6);
}

TEST_P(Kernels, SaturatesWithoutNaN) {
  std::vector<float> x{-1e30f, -200.0f, -100.0f, 100.0f, 200.0f, 1e30f, -INFINITY, INFINITY};
  std::vector<float> y(x.size());
  for (auto f : {table().exp, table().sigmoid, table().tanh}) {
    f(x.data(), y.data(), x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
      EXPECT_FALSE(std::isnan(y[i])) << "input " << x[i];
  }
  table().tanh(x.data(), y.data(), x.size());
  EXPECT_FLOAT_EQ(y.front(), -1.0f);
  EXPECT_FLOAT_EQ(y.back(), 1.0f);
  table().sigmoid(x.data(), y.data(), x.size());
  EXPECT_NEAR(y.front(), 0.0f, 1e-30f);
  EXPECT_FLOAT_EQ(y.back(), 1.0f);
}

TEST_P(Kernels, LogSoftmaxMatchesDoublePrecision) {
  for (int n : {1, 5, 16, 17, 96, 111}) {
    auto x = uniform(n, -30.0f, 30.0f, 100u + n);
    std::vector<float> y(n);
    table().log_softmax(x.data(), y.data(), n);
    double m = -INFINITY, sum = 0;
    for (float v : x)
      m = std::max(m, double(v));
    for (float v : x)
      sum += std::exp(v - m);
    for (int k = 0; k < n; ++k)
      EXPECT_NEAR(y[k], x[k] - m - std::log(sum), 2e-5) << "n " << n << " k " << k;
    table().log_softmax(x.data(), x.data(), n);  // in place
    EXPECT_EQ(x, y);
  }
}

TEST_P(Kernels, LargestIgnoresNaNsAndIsAtLeastZero) {
  for (std::size_t n : {0, 1, 7, 16, 17, 100, 333}) {
    auto x = uniform(static_cast<int>(n), -5.0f, 3.0f, 7u + static_cast<unsigned>(n));
    float want = 0;
    for (float v : x)
      want = std::max(want, v);
    EXPECT_EQ(table().largest(x.data(), n), want) << "n " << n;
    if (n == 0) continue;
    x[n / 2] = NAN;
    x[n - 1] = NAN;
    want = 0;
    for (float v : x)
      if (!std::isnan(v)) want = std::max(want, v);
    EXPECT_EQ(table().largest(x.data(), n), want) << "n " << n << " with NaNs";
    for (float& v : x)
      v = -std::abs(v);
    EXPECT_EQ(table().largest(x.data(), n), 0.0f);
  }
}

// The int8 convolution's input and output passes against the generic ones
// (the plain loops).
TEST_P(Kernels, Int8ConvolutionPassesMatchTheGenericOnes) {
  const KernelTable& plain = kernel_table(Isa::generic);
  for (std::size_t n : {1, 15, 16, 33, 1000}) {
    if (!table().quantize_u8) break;  // AVX2: the engine uses oneDNN's reorder
    auto x = uniform(static_cast<int>(n), -1.0f, 9.0f, 11u + static_cast<unsigned>(n));
    x[n - 1] = 1e30f;
    x[0] = NAN;
    std::vector<std::uint8_t> want(n), got(n);
    plain.quantize_u8(x.data(), n, 28.3f, want.data());
    table().quantize_u8(x.data(), n, 28.3f, got.data());
    EXPECT_EQ(got, want) << "n " << n;
    EXPECT_EQ(want[0], 0);
    if (n > 1) EXPECT_EQ(want[n - 1], 255);
  }
  for (int channels : {1, 8, 16, 20, 96}) {
    const std::size_t pixels = 13;
    auto bias = uniform(channels, -1.0f, 1.0f, 3u);
    for (bool relu : {false, true}) {
      auto want = uniform(static_cast<int>(pixels) * channels, -50.0f, 50.0f, 5u);
      auto got = want;
      plain.scale_bias_relu(want.data(), pixels, channels, 0.037f, bias.data(), relu);
      table().scale_bias_relu(got.data(), pixels, channels, 0.037f, bias.data(), relu);
      for (std::size_t i = 0; i < want.size(); ++i)
        EXPECT_NEAR(got[i], want[i], 1e-6f * (1 + std::abs(want[i]))) << "channels " << channels;
    }
  }
}

// center_text's vertical pass against the generic kernel (float sums there,
// double here: within float rounding).
TEST_P(Kernels, AreaColumnMatchesTheGenericOne) {
  const KernelTable& plain = kernel_table(Isa::generic);
  for (int h : {1, 7, 45, 200}) {
    const auto column = uniform(h, 0.0f, 1.0f, 40u + static_cast<unsigned>(h));
    for (double step : {1.0001, 1.37, 2.5, 7.9})
      for (double start : {-13.4, -0.5, 0.0, 3.25, h * 0.8}) {
        for (int H : {1, 8, 13, 32}) {
          std::vector<float> want(2 * H, -1.0f), got(2 * H, -1.0f);
          plain.area_column(column.data(), h, start, step, H, want.data(), 2);
          table().area_column(column.data(), h, start, step, H, got.data(), 2);
          for (int i = 0; i < 2 * H; ++i)
            EXPECT_NEAR(got[i], want[i], 2e-6f)
                << "h " << h << " step " << step << " start " << start << " H " << H << " i " << i;
        }
      }
  }
}

// Logits so large that m + log(sum) rounds log(sum) away: the outputs must
// still be normalised (a fuzzed model with huge weights made line confidences
// of 153 from probabilities summing to 2 in every frame).
TEST_P(Kernels, LogSoftmaxStaysNormalisedForHugeLogits) {
  for (float big : {1e10f, -1e10f, 3e37f}) {
    for (int n : {2, 17, 96}) {
      std::vector<float> x(n, big - std::abs(big) * 1e-3f), y(n);
      x[0] = x[n - 1] = big;
      table().log_softmax(x.data(), y.data(), n);
      double total = 0;
      for (float v : y) {
        EXPECT_LE(v, 0.0f);
        total += std::exp(double(v));
      }
      EXPECT_NEAR(total, 1.0, 1e-6) << "logits " << big << " n " << n;
      EXPECT_NEAR(y[0], -std::log(2.0), 1e-6);
    }
  }
}

// One LSTM step in double precision, straight from the definition.
void lstm_step_double(const std::vector<float>& w_hh, const std::vector<float>& bias, int N,
                      int lines, const float* gates, std::size_t gstride, std::vector<double>& h,
                      std::vector<double>& c) {
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  for (int b = 0; b < lines; ++b) {
    std::vector<double> a(4 * N);
    for (int j = 0; j < 4 * N; ++j) {
      a[j] = double(gates[b * gstride + j]) + bias[j];
      for (int k = 0; k < N; ++k)
        a[j] += double(w_hh[static_cast<std::size_t>(j) * N + k]) * h[b * N + k];
    }
    for (int j = 0; j < N; ++j) {
      c[b * N + j] = sig(a[N + j]) * c[b * N + j] + sig(a[j]) * std::tanh(a[2 * N + j]);
      h[b * N + j] = sig(a[3 * N + j]) * std::tanh(c[b * N + j]);
    }
  }
}

// Random recurrent weights, bias, gate inputs and state for `lines` lines.
struct StepCase {
  int N, lines;
  std::vector<float> w_hh, bias, gates, h0, c0;
  std::size_t gstride, ystride;
  StepCase(int n, int l) : N(n), lines(l), gstride(4 * n + 3), ystride(n + 5) {
    const float scale = 1.0f / std::sqrt(float(N));
    w_hh = uniform(static_cast<std::size_t>(4) * N * N, -scale, scale, 1u + N);
    bias = uniform(static_cast<std::size_t>(4) * N, -1.0f, 1.0f, 5u + N);
    gates = uniform(lines * gstride, -2.0f, 2.0f, 2u + lines);
    h0 = uniform(static_cast<std::size_t>(lines) * N, -1.0f, 1.0f, 3u);
    c0 = uniform(static_cast<std::size_t>(lines) * N, -2.0f, 2.0f, 4u);
  }
  // h, c, y after one step of `step` on `s`'s weights (strided rows, as in
  // the engine; y prefilled with -7 to show what is written).
  auto run(void (*step)(const LstmStep&), LstmStep s, int padded,
           bool reverse_columns = false) const {
    std::vector<float> h = h0, c = c0, y(lines * ystride, -7.0f), scratch(kStepLines * padded);
    s.reverse_columns = reverse_columns;
    s.lines = lines;
    s.gates_in = gates.data();
    s.gates_stride = gstride;
    s.h = h.data();
    s.c = c.data();
    s.y = y.data();
    s.y_stride = ystride;
    s.scratch = scratch.data();
    step(s);
    return std::tuple{h, c, y};
  }
  auto run_int8(void (*step_int8)(const LstmStep&), const PackedRecurrentInt8& packed,
                bool reverse_columns = false) const {
    LstmStep s;
    s.weights_int8 = &packed;
    return run(step_int8, s, packed.padded, reverse_columns);
  }
};

TEST_P(Kernels, LstmStepMatchesDoublePrecisionAndGeneric) {
  for (int N : {1, 7, 16, 24, 64, 100}) {
    for (int lines : {1, 3, 4, 9}) {
      SCOPED_TRACE("hidden " + std::to_string(N) + ", lines " + std::to_string(lines));
      const StepCase t(N, lines);
      const PackedRecurrent packed = pack_recurrent(t.w_hh.data(), t.bias.data(), N);
      auto run = [&](const KernelTable& table, bool reverse_columns = false) {
        LstmStep s;
        s.weights = &packed;
        return t.run(table.lstm_step, s, packed.padded, reverse_columns);
      };
      auto [h, c, y] = run(table());
      auto [hg, cg, yg] = run(generic_kernels());
      // The column order changes only which weights are read first.
      auto [hr, cr, yr] = run(table(), true);
      EXPECT_EQ(hr, h);
      EXPECT_EQ(cr, c);
      EXPECT_EQ(yr, y);

      std::vector<double> hd(t.h0.begin(), t.h0.end()), cd(t.c0.begin(), t.c0.end());
      lstm_step_double(t.w_hh, t.bias, N, lines, t.gates.data(), t.gstride, hd, cd);
      for (int b = 0; b < lines; ++b)
        for (int j = 0; j < N; ++j) {
          const std::size_t i = static_cast<std::size_t>(b) * N + j;
          // Float accumulation of N products limits agreement with double to
          // about N ulp of the pre-activations, well inside 1e-5.
          EXPECT_NEAR(h[i], hd[i], 1e-5 + 1e-6 * std::abs(hd[i]));
          EXPECT_NEAR(c[i], cd[i], 1e-5 + 1e-6 * std::abs(cd[i]));
          EXPECT_NEAR(h[i], hg[i], 2e-6);
          EXPECT_NEAR(c[i], cg[i], 2e-6);
          EXPECT_EQ(y[b * t.ystride + j], h[i]);
        }
      for (int b = 0; b < lines; ++b)  // nothing written past a line's N outputs
        for (std::size_t j = N; j < t.ystride; ++j)
          EXPECT_EQ(y[b * t.ystride + j], -7.0f);
    }
  }
}

// The vector int8 step against the generic one, which does the same integer
// arithmetic plainly: the dot products are exact in both, so only the float
// epilogue and the gate functions differ.
TEST_P(Kernels, Int8LstmStepMatchesTheGenericReference) {
  if (!table().lstm_step_int8)
    GTEST_SKIP() << isa_name(GetParam()) << " has no int8 step on this CPU (needs VNNI)";
  for (int N : {1, 7, 16, 24, 64, 100}) {
    for (int lines : {1, 2, 3, 4, 9}) {
      SCOPED_TRACE("hidden " + std::to_string(N) + ", lines " + std::to_string(lines));
      const StepCase t(N, lines);
      const auto packed = pack_recurrent_int8(t.w_hh.data(), t.bias.data(), N);
      auto [h, c, y] = t.run_int8(table().lstm_step_int8, packed);
      auto [hg, cg, yg] = t.run_int8(generic_kernels().lstm_step_int8, packed);
      auto [hr, cr, yr] = t.run_int8(table().lstm_step_int8, packed, true);
      EXPECT_EQ(hr, h);
      EXPECT_EQ(cr, c);
      for (int b = 0; b < lines; ++b) {
        for (int j = 0; j < N; ++j) {
          const std::size_t i = static_cast<std::size_t>(b) * N + j;
          EXPECT_NEAR(h[i], hg[i], 2e-6 + 1e-6 * std::abs(hg[i]));
          EXPECT_NEAR(c[i], cg[i], 2e-6 + 1e-6 * std::abs(cg[i]));
          EXPECT_EQ(y[b * t.ystride + j], h[i]);
        }
        for (std::size_t j = N; j < t.ystride; ++j)
          EXPECT_EQ(y[b * t.ystride + j], -7.0f);
      }
    }
  }
}

// The int8 step against the float step in double precision: within the
// worst case that quantisation allows. A pre-activation's error is at most
// sum_k |w - w~| |h| + |w| |h - h~| <= N * max|w| / 127 (each error at most
// half a step: max|w| / 254 and 1 / 254), and the gates pass at most that on
// to c and h.
TEST(Int8LstmStep, WithinTheQuantisationBoundOfFloat) {
  for (int N : {7, 64, 100}) {
    const int lines = 3;
    const StepCase t(N, lines);
    const auto packed = pack_recurrent_int8(t.w_hh.data(), t.bias.data(), N);
    auto [h, c, y] = t.run_int8(generic_kernels().lstm_step_int8, packed);
    std::vector<double> hd(t.h0.begin(), t.h0.end()), cd(t.c0.begin(), t.c0.end());
    lstm_step_double(t.w_hh, t.bias, N, lines, t.gates.data(), t.gstride, hd, cd);
    float max_w = 0;
    for (float v : t.w_hh)
      max_w = std::max(max_w, std::abs(v));
    const double bound = N * max_w / 127.0;
    double worst = 0, sum_sq = 0;
    for (std::size_t i = 0; i < h.size(); ++i) {
      EXPECT_NEAR(h[i], hd[i], bound) << "hidden " << N << " at " << i;
      EXPECT_NEAR(c[i], cd[i], bound) << "hidden " << N << " at " << i;
      worst = std::max(worst, std::abs(h[i] - hd[i]));
      sum_sq += (h[i] - hd[i]) * (h[i] - hd[i]);
    }
    // Errors of random sign mostly cancel: typical ones are far below the bound.
    EXPECT_LT(std::sqrt(sum_sq / h.size()), bound / 10) << "hidden " << N;
    EXPECT_GT(worst, 0.0) << "quantisation changes something";
  }
  const float unread = 0;  // the size is refused before any weight is read
  EXPECT_THROW(pack_recurrent_int8(&unread, nullptr, kMaxInt8Hidden + 1), Error);
}

// The int8 input projection: x [rows][k] (strided) times W^T, W [m][k].
struct ProjectionCase {
  int rows, k, m;
  std::size_t x_stride, out_stride;
  std::vector<float> x, w;
  ProjectionCase(int r, int k_, int m_)
      : rows(r), k(k_), m(m_), x_stride(k_ + 3), out_stride(m_ + 5) {
    x = uniform(rows * x_stride, -2.0f, 3.0f, 7u + k);
    w = uniform(static_cast<std::size_t>(m) * k, -0.3f, 0.3f, 8u + m);
  }
  // `Params` is Int8Projection or DenseProjection (with `relu`).
  template <class Params, class Packed>
  std::vector<float> run(void (*projection)(const Params&), const Packed& packed,
                         bool relu = false) const {
    std::vector<float> out(rows * out_stride, -7.0f);
    Params p;
    if constexpr (requires { p.relu; }) p.relu = relu;
    p.weights = &packed;
    p.x = x.data();
    p.x_stride = x_stride;
    p.rows = rows;
    p.out = out.data();
    p.out_stride = out_stride;
    projection(p);
    return out;
  }
};

TEST_P(Kernels, Int8ProjectionMatchesTheGenericReference) {
  if (!table().int8_projection)
    GTEST_SKIP() << isa_name(GetParam()) << " has no int8 projection on this CPU (needs VNNI)";
  for (int rows : {1, 3, 4, 9})
    for (int k : {5, 64, 128})
      for (int m : {20, 64, 100, 256}) {
        SCOPED_TRACE(std::to_string(rows) + " rows, k " + std::to_string(k) + ", m " +
                     std::to_string(m));
        const ProjectionCase t(rows, k, m);
        const auto packed = pack_int8_rows(t.w.data(), m, k);
        const auto got = t.run(table().int8_projection, packed);
        const auto want = t.run(generic_kernels().int8_projection, packed);
        for (int r = 0; r < rows; ++r) {
          for (int c = 0; c < m; ++c)  // the integer sums are exact; one float rounding apart
            EXPECT_NEAR(got[r * t.out_stride + c], want[r * t.out_stride + c],
                        1e-6 * (1 + std::abs(want[r * t.out_stride + c])));
          for (std::size_t c = m; c < t.out_stride; ++c)
            EXPECT_EQ(got[r * t.out_stride + c], -7.0f) << "written past the row";
        }
      }
}

// Against float: each product's error is at most |W - W~| |x| + |W| |x - x~|,
// so a row's at most k * max|W_c| * max|x_r| / 127.
TEST(Int8Projection, WithinTheQuantisationBoundOfFloat) {
  const ProjectionCase t(6, 100, 70);
  const auto packed = pack_int8_rows(t.w.data(), t.m, t.k);
  const auto got = t.run(generic_kernels().int8_projection, packed);
  double sum_sq = 0, sum_ref = 0;
  for (int r = 0; r < t.rows; ++r) {
    const float* x = t.x.data() + r * t.x_stride;
    const float max_x =
        *std::max_element(x, x + t.k, [](float a, float b) { return std::abs(a) < std::abs(b); });
    for (int c = 0; c < t.m; ++c) {
      const float* w = t.w.data() + static_cast<std::size_t>(c) * t.k;
      double ref = 0;
      float max_w = 0;
      for (int i = 0; i < t.k; ++i) {
        ref += double(x[i]) * w[i];
        max_w = std::max(max_w, std::abs(w[i]));
      }
      const double err = got[r * t.out_stride + c] - ref;
      EXPECT_LE(std::abs(err), t.k * max_w * std::abs(max_x) / 127.0) << r << ", " << c;
      sum_sq += err * err;
      sum_ref += ref * ref;
    }
  }
  EXPECT_GT(sum_sq, 0.0) << "quantisation changes something";
  EXPECT_LT(std::sqrt(sum_sq / sum_ref), 0.02) << "relative RMS error";
}

// The dense layer: each ISA against the generic kernel, and the generic
// kernel (with pack_dense) against double precision on the unpacked weights.
TEST_P(Kernels, DenseMatchesGenericAndDoublePrecision) {
  for (int rows : {1, 3, 4, 9})
    for (int k : {1, 5, 128})
      for (int m : {3, 16, 20, 100, 130})
        for (bool relu : {false, true}) {
          SCOPED_TRACE(std::to_string(rows) + " rows, k " + std::to_string(k) + ", m " +
                       std::to_string(m) + (relu ? ", relu" : ""));
          const ProjectionCase t(rows, k, m);
          const auto& x = t.x;
          const auto& w = t.w;
          const std::size_t x_stride = t.x_stride, out_stride = t.out_stride;
          const auto bias = uniform(m, -1.0f, 1.0f, 13u + m);
          const PackedDense packed = pack_dense(w.data(), bias.data(), m, k);
          auto run = [&](void (*dense)(const DenseProjection&)) {
            return t.run(dense, packed, relu);
          };
          const auto got = run(table().dense);
          const auto want = run(generic_kernels().dense);
          for (int r = 0; r < rows; ++r) {
            for (int c = 0; c < m; ++c) {
              double ref = bias[c], size = std::abs(bias[c]);
              for (int i = 0; i < k; ++i) {
                ref += double(x[r * x_stride + i]) * w[static_cast<std::size_t>(c) * k + i];
                size +=
                    std::abs(double(x[r * x_stride + i]) * w[static_cast<std::size_t>(c) * k + i]);
              }
              if (relu) ref = std::max(ref, 0.0);
              // k float roundings of terms no larger than `size`.
              const double tolerance = 1e-6 * (k + 1) * size + 1e-12;
              EXPECT_NEAR(want[r * out_stride + c], ref, tolerance) << r << ", " << c;
              EXPECT_NEAR(got[r * out_stride + c], ref, tolerance) << r << ", " << c;
            }
            for (std::size_t c = m; c < out_stride; ++c)
              EXPECT_EQ(got[r * out_stride + c], -7.0f) << "written past the row";
          }
        }
}

// The gate non-linearities alone, on identical pre-activations: the vector
// paths agree with libm to 1e-6 relative. c = f c0 + i g can cancel, so its
// tolerance is relative to the size of its terms (and h's to o times that).
TEST_P(Kernels, LstmCellNonlinearitiesMatchGenericToOnePpm) {
  const int N = 64, lines = 5;
  std::vector<float> zero_w(static_cast<std::size_t>(4) * N * N, 0.0f);
  const PackedRecurrent packed = pack_recurrent(zero_w.data(), nullptr, N);
  auto gates = uniform(static_cast<std::size_t>(lines) * 4 * N, -6.0f, 6.0f, 9u);
  auto c0 = uniform(static_cast<std::size_t>(lines) * N, -3.0f, 3.0f, 10u);
  auto run = [&](const KernelTable& t) {
    std::vector<float> h(lines * N, 0.0f), c = c0, y(lines * N),
                                           scratch(kStepLines * packed.padded);
    LstmStep s{&packed,  lines,    gates.data(),   std::size_t(4 * N), h.data(),
               c.data(), y.data(), std::size_t(N), scratch.data()};
    t.lstm_step(s);
    return std::pair{h, c};
  };
  auto [h, c] = run(table());
  auto [hg, cg] = run(generic_kernels());
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  for (int b = 0; b < lines; ++b)
    for (int j = 0; j < N; ++j) {
      const float* a = gates.data() + static_cast<std::size_t>(b) * 4 * N;
      const std::size_t k = static_cast<std::size_t>(b) * N + j;
      const double terms =
          std::abs(sig(a[N + j]) * c0[k]) + std::abs(sig(a[j]) * std::tanh(a[2 * N + j]));
      EXPECT_NEAR(c[k], cg[k], 1e-6 * terms) << k;
      EXPECT_NEAR(h[k], hg[k], 1e-6 * (std::abs(hg[k]) + sig(a[3 * N + j]) * terms)) << k;
    }
}

// The fused first-layer convolution (3x3 over one channel, bias, ReLU, 2x2
// max pool) against a direct double-precision computation, for channel
// counts on and off the vector widths, every output blocking the engine may
// ask for, and a split of the rows over two calls.
TEST_P(Kernels, ImageConvMatchesDirectComputation) {
  const int in_rows = 6, in_cols = 11;
  const std::size_t stride = in_cols + 2;
  auto input = uniform((in_rows + 2) * stride, -1.0f, 1.0f, 3);
  for (std::size_t x = 0; x < stride; ++x)  // the zero border
    input[x] = input[(in_rows + 1) * stride + x] = 0.0f;
  for (int y = 0; y < in_rows + 2; ++y)
    input[y * stride] = input[y * stride + in_cols + 1] = 0.0f;
  for (int channels : {8, 16, 24, 32})
    for (bool pool : {false, true})
      for (bool relu : {false, true})
        for (int block : {1, 8, 16}) {
          SCOPED_TRACE("channels " + std::to_string(channels) + (pool ? " pool" : "") +
                       (relu ? " relu" : "") + " block " + std::to_string(block));
          const auto weights = uniform(9 * channels, -1.0f, 1.0f, 4 + channels);
          const auto bias = uniform(channels, -0.5f, 0.5f, 5 + channels);
          const int rows = pool ? in_rows / 2 : in_rows, cols = pool ? in_cols / 2 : in_cols;
          const int blocks = (channels + block - 1) / block;
          std::vector<float> out(static_cast<std::size_t>(blocks) * block * rows * cols, NAN);
          ImageConv a;
          a.input = input.data();
          a.input_stride = stride;
          a.out_cols = cols;
          a.channels = channels;
          a.weights = weights.data();
          a.bias = bias.data();
          a.relu = relu;
          a.pool = pool;
          a.output = out.data();
          a.out_block = block;
          a.out_sx = block == 1 ? channels : block;
          a.out_sy = a.out_sx * cols;
          a.out_sc = block == 1 ? 1 : a.out_sy * rows;
          a.row_begin = 0;
          a.row_end = 1;
          table().image_conv(a);
          a.row_begin = 1;
          a.row_end = rows;
          table().image_conv(a);
          auto conv = [&](int y, int x, int c) {  // conv output (y, x), unpadded coordinates
            double acc = bias[c];
            for (int ky = 0; ky < 3; ++ky)
              for (int kx = 0; kx < 3; ++kx)
                acc += static_cast<double>(input[(y + ky) * stride + x + kx]) *
                       weights[(ky * 3 + kx) * channels + c];
            return acc;
          };
          double worst = 0;
          for (int y = 0; y < rows; ++y)
            for (int x = 0; x < cols; ++x)
              for (int c = 0; c < channels; ++c) {
                double ref =
                    pool ? std::max(
                               std::max(conv(2 * y, 2 * x, c), conv(2 * y, 2 * x + 1, c)),
                               std::max(conv(2 * y + 1, 2 * x, c), conv(2 * y + 1, 2 * x + 1, c)))
                         : conv(y, x, c);
                if (relu) ref = std::max(ref, 0.0);
                const float got =
                    out[y * a.out_sy + x * a.out_sx + (c / block) * a.out_sc + c % block];
                ASSERT_FALSE(std::isnan(got)) << "not written: " << y << "," << x << "," << c;
                worst = std::max(worst, std::abs(got - ref) / (1.0 + std::abs(ref)));
              }
          EXPECT_LE(worst, 1e-6);
        }
}

INSTANTIATE_TEST_SUITE_P(SupportedIsas, Kernels, ::testing::ValuesIn(supported_isas()),
                         [](const auto& info) { return std::string(isa_name(info.param)); });

TEST(CpuFeatures, ParseAndResolve) {
  EXPECT_EQ(parse_isa("avx2"), Isa::avx2);
  EXPECT_EQ(parse_isa("auto"), Isa::automatic);
  EXPECT_THROW(parse_isa("sse9"), Error);
  const auto supported = supported_isas();
  ASSERT_FALSE(supported.empty());
  EXPECT_EQ(supported.front(), Isa::generic);
  for (Isa isa : supported)
    EXPECT_EQ(resolve_isa(isa), isa);
  for (Isa isa : {Isa::avx2, Isa::avx512})
    if (std::find(supported.begin(), supported.end(), isa) == supported.end())
      EXPECT_THROW(resolve_isa(isa), Error);
}

TEST(CpuFeatures, EnvironmentVariableForcesAPath) {
  ASSERT_EQ(setenv("OCRCORE_ISA", "generic", 1), 0);
  EXPECT_EQ(resolve_isa(Isa::automatic), Isa::generic);
  // An explicit choice wins over the environment.
  EXPECT_EQ(resolve_isa(supported_isas().back()), supported_isas().back());
  ASSERT_EQ(setenv("OCRCORE_ISA", "bogus", 1), 0);
  EXPECT_THROW(resolve_isa(Isa::automatic), Error);
  ASSERT_EQ(unsetenv("OCRCORE_ISA"), 0);
  EXPECT_EQ(resolve_isa(Isa::automatic), supported_isas().back());
}
