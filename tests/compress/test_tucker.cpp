// Tucker-2 decomposition and rank rules.

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <random>

#include "compress/tucker.hpp"
#include "layers/conv2d/conv2d.hpp"
#include "layers/tucker_conv/tucker_conv.hpp"
#include "training/train/layer_factory.hpp"

namespace ocrcore::compress {
namespace {

Tensor random_kernel(int S, int C, int kh, int kw, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Tensor k({S, C, kh, kw});
  for (float& v : k.data)
    v = nd(rng);
  return k;
}

float max_abs(const Tensor& a, const Tensor& b) {
  float m = 0;
  for (std::size_t i = 0; i < a.data.size(); ++i)
    m = std::max(m, std::abs(a.data[i] - b.data[i]));
  return m;
}

TEST(Tucker, FullRankReproducesTheLayer) {
  const int S = 12, C = 7;
  const Tensor k = random_kernel(S, C, 3, 3, 1);
  const TuckerFactors f = tucker2(k, C, S);
  EXPECT_LT(f.relative_error, 1e-6);
  EXPECT_LT(max_abs(reconstruct(f, C), k), 1e-5f);

  // The three-convolution layer computes what the original convolution does.
  Conv2dSpec conv{"c", C, S, 3, 3, 1, 1, 1, 1, true};
  TuckerConvSpec tucker{"t", C, S, 3, 3, 1, 1, 1, 1, C, S, true};
  auto original = train::make_layer(conv);
  auto factored = train::make_layer(tucker);
  std::mt19937 rng(2);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  original->parameters()[0]->value = k.data;
  for (float& b : original->parameters()[1]->value)
    b = nd(rng);
  auto fp = factored->parameters();  // in, core, out weight, out bias
  fp[0]->value = f.in.data;
  fp[1]->value = f.core.data;
  fp[2]->value = f.out.data;
  fp[3]->value = original->parameters()[1]->value;
  train::Activations x, x2, y1, y2;
  x.resize_maps(2, C, 5, 9);
  x.lengths = {9, 6};
  for (float& v : x.values)
    v = nd(rng);
  x2 = x;
  original->forward(x, y1, train::Mode::evaluation);
  factored->forward(x2, y2, train::Mode::evaluation);
  // Compared inside each line (what padding columns hold is no one's result).
  float worst = 0;
  for (int n = 0; n < y1.batch; ++n)
    for (int y = 0; y < y1.height; ++y)
      for (int xx = 0; xx < y1.lengths[n]; ++xx)
        for (int c = 0; c < S; ++c) {
          const std::size_t i =
              ((static_cast<std::size_t>(n) * y1.height + y) * y1.width + xx) * S + c;
          worst = std::max(worst, std::abs(y1.values[i] - y2.values[i]));
        }
  EXPECT_LT(worst, 1e-5f);
}

TEST(Tucker, TuckerOneAndSvdOfOneByOne) {
  // First layer: one input channel, output mode only.
  const Tensor first = random_kernel(16, 1, 3, 3, 3);
  EXPECT_LT(tucker2(first, 0, 9).relative_error, 1e-6);  // rank 9 = kh*kw spans everything
  // 1x1: a matrix; the truncated SVD's error is the tail energy (Eckart-Young).
  const Tensor pointwise = random_kernel(10, 8, 1, 1, 4);
  const ModeSpectra sp = mode_spectra(pointwise);
  const int R = 3;
  double tail = 0, total = 0;
  for (std::size_t i = 0; i < sp.out.size(); ++i) {
    total += sp.out[i] * sp.out[i];
    if (static_cast<int>(i) >= R) tail += sp.out[i] * sp.out[i];
  }
  EXPECT_NEAR(tucker2(pointwise, 0, R).relative_error, std::sqrt(tail / total), 1e-5);
  EXPECT_LT(tucker2(pointwise, 0, 8).relative_error, 1e-6);
}

TEST(Tucker, HooiDoesNotWorsenHosvd) {
  const Tensor k = random_kernel(24, 16, 3, 3, 5);
  const double hosvd = tucker2(k, 8, 10, 0).relative_error;
  const double hooi = tucker2(k, 8, 10, 5).relative_error;
  EXPECT_GT(hosvd, 0.1);
  EXPECT_LE(hooi, hosvd + 1e-9);
}

TEST(RankRules, Energy) {
  EXPECT_EQ(rank_for_energy({10, 5, 1, 0.1}, 0.95), 2);  // 100 + 25 of 126.01 = 99.2%
  EXPECT_EQ(rank_for_energy({10, 5, 1, 0.1}, 0.5), 1);
  EXPECT_EQ(rank_for_energy({10, 5, 1, 0.1}, 0.999), 3);
  EXPECT_EQ(rank_for_energy({10, 5, 1, 0.1}, 1.0), 4);
}

TEST(RankRules, VbmfFindsAPlantedRank) {
  // Rank-5 signal plus Gaussian noise: VBMF recovers 5 over a range of sizes.
  for (auto [L, M, rank] :
       {std::tuple{40, 60, 5}, std::tuple{64, 144, 8}, std::tuple{32, 288, 3}}) {
    std::mt19937 rng(static_cast<unsigned>(L * M));
    std::normal_distribution<double> nd(0.0, 1.0);
    Eigen::MatrixXd A(L, rank), B(rank, M), noise(L, M);
    for (int i = 0; i < A.size(); ++i)
      A.data()[i] = nd(rng);
    for (int i = 0; i < B.size(); ++i)
      B.data()[i] = nd(rng);
    for (int i = 0; i < noise.size(); ++i)
      noise.data()[i] = 0.05 * nd(rng);
    Eigen::MatrixXd Y = A * B + noise;
    Eigen::BDCSVD<Eigen::MatrixXd> svd(Y);
    std::vector<double> s(svd.singularValues().data(),
                          svd.singularValues().data() + svd.singularValues().size());
    EXPECT_EQ(rank_by_vbmf(s, L, M), rank) << L << "x" << M;
  }
  // Pure noise: nothing worth keeping beyond the minimum.
  std::mt19937 rng(9);
  std::normal_distribution<double> nd(0.0, 1.0);
  Eigen::MatrixXd Y(30, 50);
  for (int i = 0; i < Y.size(); ++i)
    Y.data()[i] = nd(rng);
  Eigen::BDCSVD<Eigen::MatrixXd> svd(Y);
  std::vector<double> s(svd.singularValues().data(),
                        svd.singularValues().data() + svd.singularValues().size());
  EXPECT_EQ(rank_by_vbmf(s, 30, 50), 1);
}

TEST(Tucker, Costs) {
  EXPECT_EQ(conv_cost(64, 128, 3, 3), 64.0 * 128 * 9);
  EXPECT_EQ(tucker_cost(64, 128, 3, 3, 16, 32), 64.0 * 16 + 16.0 * 32 * 9 + 32.0 * 128);
  EXPECT_EQ(tucker_cost(1, 32, 3, 3, 0, 8), 1.0 * 8 * 9 + 8.0 * 32);
}

}  // namespace
}  // namespace ocrcore::compress
