// Finite-difference checks of the log-softmax and the CTC loss gradient
// (each layer kind's backward pass is checked in tests/layers/test_<kind>.cpp
// with the same helpers, train/gradient_check.hpp).

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "train/gradient_check.hpp"
#include "training/train/ctc_loss.hpp"
#include "training/train/layer_factory.hpp"

namespace ocrcore::train {
namespace {

using namespace ocrcore::train::testing;

TEST(Gradients, LogSoftmax) {
  std::mt19937 rng(9);
  auto lsm = make_log_softmax();
  gradient_check(*lsm, random_sequences(4, 2, 6, {4, 3}, rng), Mode::training, 1e-2f);
}

TEST(LogSoftmax, StaysNormalisedForHugeLogits) {
  Activations logits;
  logits.resize_sequences(1, 1, 3);
  logits.values = {1e10f, 1e10f, -1e10f};
  logits.lengths = {1};
  Activations lp;
  make_log_softmax()->forward(logits, lp, Mode::evaluation);
  EXPECT_NEAR(lp.values[0], -std::log(2.0), 1e-6);
  EXPECT_NEAR(lp.values[1], -std::log(2.0), 1e-6);
}

TEST(Gradients, CtcLoss) {
  std::mt19937 rng(10);
  Activations logits = random_sequences(12, 4, 5, {12, 9, 6, 12}, rng);
  auto lsm = make_log_softmax();
  Activations lp;
  lsm->forward(logits, lp, Mode::training);
  // Repeated labels, a label at the length limit, an empty target.
  std::vector<std::vector<int>> targets = {{1, 2, 2, 3}, {4, 4, 4}, {1, 2, 3}, {}};
  Activations grad;
  auto res = ctc_loss(lp, targets, &grad, 1.0f);
  ASSERT_TRUE(res.unaligned.empty());
  for (double l : res.loss)
    EXPECT_TRUE(std::isfinite(l));
  const double eps = 1e-3;
  Check c;
  for (std::size_t i = 0; i < lp.values.size(); i += 3) {
    if (!is_valid(lp, i)) {
      EXPECT_EQ(grad.values[i], 0.0f);
      continue;
    }
    Activations x = lp;
    x.values[i] += static_cast<float>(eps);
    double plus = 0, minus = 0;
    for (double l : ctc_loss(x, targets).loss)
      plus += l;
    x.values[i] -= static_cast<float>(2 * eps);
    for (double l : ctc_loss(x, targets).loss)
      minus += l;
    expect_close(c, grad.values[i], (plus - minus) / (2 * eps),
                 "log_probs[" + std::to_string(i) + "]");
  }
  EXPECT_GT(c.compared, 50);
}

TEST(Gradients, CtcUnalignableLinesAreSkipped) {
  std::mt19937 rng(11);
  Activations lp = random_sequences(5, 2, 4, {5, 3}, rng);
  // Line 1 has 3 frames but needs 4 (a, blank, a, b).
  auto res = ctc_loss(lp, {{1, 2}, {1, 1, 2}}, nullptr);
  ASSERT_EQ(res.unaligned, std::vector<int>{1});
  EXPECT_TRUE(std::isfinite(res.loss[0]));
  EXPECT_TRUE(std::isinf(res.loss[1]));
}

}  // namespace
}  // namespace ocrcore::train
