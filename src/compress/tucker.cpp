#include "compress/tucker.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "ocrcore/error.hpp"

namespace ocrcore::compress {

namespace {

using Matrix = Eigen::MatrixXd;

struct Dims {
  int S, C, kh, kw;
};

Dims dims_of(const Tensor& k) {
  if (k.shape.size() != 4) throw Error("Tucker decomposition needs a 4-D convolution kernel");
  return {static_cast<int>(k.shape[0]), static_cast<int>(k.shape[1]), static_cast<int>(k.shape[2]),
          static_cast<int>(k.shape[3])};
}

// Mode-S unfolding: rows s, columns (c, i, j).
Matrix unfold_out(const Tensor& k, Dims d) {
  Matrix m(d.S, static_cast<Eigen::Index>(d.C) * d.kh * d.kw);
  for (int s = 0; s < d.S; ++s)
    for (Eigen::Index col = 0; col < m.cols(); ++col)
      m(s, col) = k.data[static_cast<std::size_t>(s) * m.cols() + col];
  return m;
}

// Mode-C unfolding: rows c, columns (s, i, j).
Matrix unfold_in(const Tensor& k, Dims d) {
  const int area = d.kh * d.kw;
  Matrix m(d.C, static_cast<Eigen::Index>(d.S) * area);
  for (int s = 0; s < d.S; ++s)
    for (int c = 0; c < d.C; ++c)
      for (int a = 0; a < area; ++a)
        m(c, static_cast<Eigen::Index>(s) * area + a) =
            k.data[(static_cast<std::size_t>(s) * d.C + c) * area + a];
  return m;
}

Matrix leading_left_vectors(const Matrix& m, int rank) {
  Eigen::BDCSVD<Matrix> svd(m, Eigen::ComputeThinU);
  return svd.matrixU().leftCols(rank);
}

std::vector<double> singular_values(const Matrix& m) {
  Eigen::BDCSVD<Matrix> svd(m);
  const auto& v = svd.singularValues();
  return {v.data(), v.data() + v.size()};
}

// K x_S A^T x_C B^T for A [S][rs], B [C][rc] (B empty: keep the C mode).
std::vector<double> project(const Tensor& k, Dims d, const Matrix& A, const Matrix* B) {
  const int area = d.kh * d.kw;
  const auto rs = static_cast<int>(A.cols());
  const int rc = B ? static_cast<int>(B->cols()) : d.C;
  // First over S: T1[r2][c][a].
  std::vector<double> t1(static_cast<std::size_t>(rs) * d.C * area, 0.0);
  for (int s = 0; s < d.S; ++s)
    for (int r = 0; r < rs; ++r) {
      const double w = A(s, r);
      if (w == 0) continue;
      const float* src = k.data.data() + static_cast<std::size_t>(s) * d.C * area;
      double* dst = t1.data() + static_cast<std::size_t>(r) * d.C * area;
      for (int i = 0; i < d.C * area; ++i)
        dst[i] += w * src[i];
    }
  if (!B) return t1;
  std::vector<double> t2(static_cast<std::size_t>(rs) * rc * area, 0.0);
  for (int r = 0; r < rs; ++r)
    for (int c = 0; c < d.C; ++c)
      for (int q = 0; q < rc; ++q) {
        const double w = (*B)(c, q);
        const double* src = t1.data() + (static_cast<std::size_t>(r) * d.C + c) * area;
        double* dst = t2.data() + (static_cast<std::size_t>(r) * rc + q) * area;
        for (int a = 0; a < area; ++a)
          dst[a] += w * src[a];
      }
  return t2;
}

}  // namespace

ModeSpectra mode_spectra(const Tensor& kernel) {
  const Dims d = dims_of(kernel);
  return {singular_values(unfold_in(kernel, d)), singular_values(unfold_out(kernel, d))};
}

TuckerFactors tucker2(const Tensor& kernel, int rank_in, int rank_out, int hooi_iterations) {
  const Dims d = dims_of(kernel);
  const int area = d.kh * d.kw;
  if (rank_out < 1 || rank_out > d.S)
    throw Error("output rank must be between 1 and " + std::to_string(d.S));
  if (rank_in < 0 || rank_in > d.C)
    throw Error("input rank must be between 0 and " + std::to_string(d.C));
  const bool has_in = rank_in > 0;
  Matrix U_out = leading_left_vectors(unfold_out(kernel, d), rank_out);
  Matrix U_in;
  if (has_in) U_in = leading_left_vectors(unfold_in(kernel, d), rank_in);
  // HOOI: each factor from the kernel projected on the other's subspace.
  for (int it = 0; it < hooi_iterations && has_in; ++it) {
    {
      // K x_S U_out^T, unfolded in mode C: rows c, columns (r2, a).
      const auto t = project(kernel, d, U_out, nullptr);
      Matrix m(d.C, static_cast<Eigen::Index>(rank_out) * area);
      for (int r = 0; r < rank_out; ++r)
        for (int c = 0; c < d.C; ++c)
          for (int a = 0; a < area; ++a)
            m(c, static_cast<Eigen::Index>(r) * area + a) =
                t[(static_cast<std::size_t>(r) * d.C + c) * area + a];
      U_in = leading_left_vectors(m, rank_in);
    }
    {
      // K x_C U_in^T, unfolded in mode S: rows s, columns (r1, a).
      Matrix identity = Matrix::Identity(d.S, d.S);
      const auto t = project(kernel, d, identity, &U_in);
      Matrix m(d.S, static_cast<Eigen::Index>(rank_in) * area);
      for (int s = 0; s < d.S; ++s)
        for (Eigen::Index col = 0; col < m.cols(); ++col)
          m(s, col) = t[static_cast<std::size_t>(s) * m.cols() + col];
      U_out = leading_left_vectors(m, rank_out);
    }
  }
  TuckerFactors f;
  f.rank_in = rank_in;
  f.rank_out = rank_out;
  const auto core = project(kernel, d, U_out, has_in ? &U_in : nullptr);
  const int core_in = has_in ? rank_in : d.C;
  f.core = Tensor({rank_out, core_in, d.kh, d.kw});
  for (std::size_t i = 0; i < core.size(); ++i)
    f.core.data[i] = static_cast<float>(core[i]);
  f.out = Tensor({d.S, rank_out, 1, 1});
  for (int s = 0; s < d.S; ++s)
    for (int r = 0; r < rank_out; ++r)
      f.out.data[static_cast<std::size_t>(s) * rank_out + r] = static_cast<float>(U_out(s, r));
  if (has_in) {
    f.in = Tensor({rank_in, d.C, 1, 1});
    for (int r = 0; r < rank_in; ++r)
      for (int c = 0; c < d.C; ++c)
        f.in.data[static_cast<std::size_t>(r) * d.C + c] = static_cast<float>(U_in(c, r));
  }
  const Tensor approx = reconstruct(f, d.C);
  double num = 0, den = 0;
  for (std::size_t i = 0; i < kernel.data.size(); ++i) {
    const double e = static_cast<double>(kernel.data[i]) - approx.data[i];
    num += e * e;
    den += static_cast<double>(kernel.data[i]) * kernel.data[i];
  }
  f.relative_error = den > 0 ? std::sqrt(num / den) : 0.0;
  return f;
}

Tensor reconstruct(const TuckerFactors& f, int C) {
  const int S = static_cast<int>(f.out.shape[0]), R2 = f.rank_out;
  const int kh = static_cast<int>(f.core.shape[2]), kw = static_cast<int>(f.core.shape[3]),
            area = kh * kw;
  const int R1 = f.rank_in > 0 ? f.rank_in : C;
  // core with the input factor applied: [R2][C][a]
  std::vector<double> g(static_cast<std::size_t>(R2) * C * area, 0.0);
  for (int r2 = 0; r2 < R2; ++r2)
    for (int r1 = 0; r1 < R1; ++r1)
      for (int a = 0; a < area; ++a) {
        const double v = f.core.data[(static_cast<std::size_t>(r2) * R1 + r1) * area + a];
        if (f.rank_in > 0) {
          for (int c = 0; c < C; ++c)
            g[(static_cast<std::size_t>(r2) * C + c) * area + a] +=
                v * f.in.data[static_cast<std::size_t>(r1) * C + c];
        } else {
          g[(static_cast<std::size_t>(r2) * C + r1) * area + a] += v;
        }
      }
  Tensor k({S, C, kh, kw});
  for (int s = 0; s < S; ++s)
    for (int r2 = 0; r2 < R2; ++r2) {
      const double w = f.out.data[static_cast<std::size_t>(s) * R2 + r2];
      for (int i = 0; i < C * area; ++i)
        k.data[static_cast<std::size_t>(s) * C * area + i] +=
            static_cast<float>(w * g[static_cast<std::size_t>(r2) * C * area + i]);
    }
  return k;
}

int rank_for_energy(const std::vector<double>& sv, double fraction) {
  if (sv.empty()) return 1;
  double total = 0;
  for (double s : sv)
    total += s * s;
  double acc = 0;
  for (std::size_t i = 0; i < sv.size(); ++i) {
    acc += sv[i] * sv[i];
    if (acc >= fraction * total * (1 - 1e-12)) return static_cast<int>(i) + 1;
  }
  return static_cast<int>(sv.size());
}

namespace {

// tau(x) of the EVBMF solution: the positive root of tau^2 - (x - 1 - a) tau + a = 0... written as
// 0.5 (x - (1 + a) + sqrt((x - (1 + a))^2 - 4a)).
double evb_tau(double x, double alpha) {
  const double b = x - (1 + alpha);
  return 0.5 * (b + std::sqrt(std::max(0.0, b * b - 4 * alpha)));
}

}  // namespace

int rank_by_vbmf(const std::vector<double>& sv_in, int rows, int cols) {
  // EVBMF is stated for L <= M.
  const int L = std::min(rows, cols), M = std::max(rows, cols);
  std::vector<double> s(
      sv_in.begin(),
      sv_in.begin() + std::min<std::size_t>(sv_in.size(), static_cast<std::size_t>(L)));
  const int H = static_cast<int>(s.size());
  if (H == 0) return 1;
  const double alpha = static_cast<double>(L) / M;
  const double tau_bar = 2.5129 * std::sqrt(alpha);  // threshold constant of the analytic solution
  const double x_bar = (1 + tau_bar) * (1 + alpha / tau_bar);
  double sum_sq = 0;
  for (double v : s)
    sum_sq += v * v;
  // Bounds of the noise variance (from the spectrum tail), then a golden-section
  // search of the free energy over sigma^2.
  const int h_ub = std::clamp(static_cast<int>(std::ceil(L / (1 + alpha))) - 1, 1, H) - 1;
  double tail_sq = 0;
  for (int i = h_ub + 1; i < H; ++i)
    tail_sq += s[i] * s[i];
  const double upper = (sum_sq + tail_sq) / (static_cast<double>(L) * M);
  double lower = 0;
  if (h_ub + 1 < H) {
    lower = std::max(s[h_ub + 1] * s[h_ub + 1] / (M * x_bar), tail_sq / (H - h_ub - 1) / M);
  }
  lower = std::max(lower, upper * 1e-12);
  auto free_energy = [&](double sigma2) {
    double obj = 0;
    for (double v : s) {
      const double x = v * v / (M * sigma2);
      if (x > x_bar) {
        const double t = evb_tau(x, alpha);
        obj += x - t + std::log((t + 1) / x) + alpha * std::log(t / alpha + 1);
      } else {
        obj += x - std::log(x);
      }
    }
    return obj + (L - H) * std::log(sigma2);
  };
  double a = lower, b = std::max(upper, lower * 1.0001);
  const double g = (std::sqrt(5.0) - 1) / 2;
  double c = b - g * (b - a), d = a + g * (b - a);
  double fc = free_energy(c), fd = free_energy(d);
  for (int it = 0; it < 200 && (b - a) > 1e-12 * b; ++it) {
    if (fc < fd) {
      b = d, d = c, fd = fc;
      c = b - g * (b - a), fc = free_energy(c);
    } else {
      a = c, c = d, fc = fd;
      d = a + g * (b - a), fd = free_energy(d);
    }
  }
  const double sigma2 = (a + b) / 2;
  const double threshold = std::sqrt(M * sigma2 * x_bar);
  int rank = 0;
  for (double v : s)
    if (v > threshold) ++rank;
  return std::max(1, rank);
}

double conv_cost(int in, int out, int kh, int kw) {
  return static_cast<double>(in) * out * kh * kw;
}

double tucker_cost(int in, int out, int kh, int kw, int rank_in, int rank_out) {
  const double core_in = rank_in > 0 ? rank_in : in;
  return (rank_in > 0 ? static_cast<double>(in) * rank_in : 0.0) + core_in * rank_out * kh * kw +
         static_cast<double>(rank_out) * out;
}

}  // namespace ocrcore::compress
