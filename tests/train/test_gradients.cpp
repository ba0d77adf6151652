// Finite-difference checks of every training layer's backward pass and of the
// CTC loss gradient (clstm's test-deriv.cc is the model): the analytic
// gradient of a random projection of the output must match central
// differences, for parameters and inputs, with padded lines in the batch.

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "train/ctc_loss.hpp"
#include "train/layer_factory.hpp"

namespace ocrcore::train {
namespace {

Activations random_maps(int n, int c, int h, int w, std::vector<int> widths, std::mt19937& rng) {
  Activations a;
  a.resize_maps(n, c, h, w);
  a.lengths = std::move(widths);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (float& v : a.values)
    v = nd(rng);
  return a;
}

Activations random_sequences(int t, int n, int d, std::vector<int> lengths, std::mt19937& rng) {
  Activations a;
  a.resize_sequences(t, n, d);
  a.lengths = std::move(lengths);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (float& v : a.values)
    v = nd(rng);
  return a;
}

// Whether element i of `a` lies inside its line (not padding).
bool is_valid(const Activations& a, std::size_t i) {
  if (a.kind == Activations::Kind::maps) {
    const std::size_t per_line = static_cast<std::size_t>(a.height) * a.width * a.channels;
    const int n = static_cast<int>(i / per_line);
    const int x = static_cast<int>((i / a.channels) % a.width);
    return x < a.lengths[n];
  }
  const int n = static_cast<int>((i / a.features) % a.batch);
  const int t = static_cast<int>(i / (static_cast<std::size_t>(a.features) * a.batch));
  return t < a.lengths[n];
}

struct Check {
  double worst = 0.0;  // largest relative error seen
  int compared = 0;
};

// loss = sum(r * out) over valid outputs.
double projected_loss(Layer& layer, const Activations& input, const Activations& r, Mode mode) {
  Activations in = input, out;
  layer.forward(in, out, mode);
  double loss = 0.0;
  for (std::size_t i = 0; i < out.values.size(); ++i)
    if (r.values[i] != 0.0f) loss += static_cast<double>(r.values[i]) * out.values[i];
  return loss;
}

void expect_close(Check& c, double analytic, double numeric, const std::string& what) {
  const double err =
      std::abs(analytic - numeric) / std::max({1e-2, std::abs(analytic), std::abs(numeric)});
  c.worst = std::max(c.worst, err);
  ++c.compared;
  EXPECT_LT(err, 2e-2) << what << ": analytic " << analytic << ", numeric " << numeric;
}

Check gradient_check(Layer& layer, const Activations& input, Mode mode = Mode::training,
                     float eps = 1e-2f, int samples = 40, bool check_input = true) {
  std::mt19937 rng(7);
  Activations in = input, out;
  layer.forward(in, out, mode);
  Activations r;
  r.zeros_like(out);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (std::size_t i = 0; i < r.values.size(); ++i)
    if (is_valid(out, i)) r.values[i] = nd(rng);
  for (Parameter* p : layer.parameters())
    std::fill(p->grad.begin(), p->grad.end(), 0.0f);
  Activations din, r_consumed = r;
  layer.backward(in, out, r_consumed, check_input ? &din : nullptr);

  Check c;
  for (Parameter* p : layer.parameters()) {
    if (!p->trainable) continue;
    for (int s = 0; s < samples; ++s) {
      const std::size_t i = std::uniform_int_distribution<std::size_t>(0, p->numel() - 1)(rng);
      const float saved = p->value[i];
      p->value[i] = saved + eps;
      const double plus = projected_loss(layer, input, r, mode);
      p->value[i] = saved - eps;
      const double minus = projected_loss(layer, input, r, mode);
      p->value[i] = saved;
      expect_close(c, p->grad[i], (plus - minus) / (2.0 * eps),
                   p->name + "[" + std::to_string(i) + "]");
    }
  }
  if (check_input) {
    for (int s = 0; s < samples; ++s) {
      std::size_t i = 0;
      do {
        i = std::uniform_int_distribution<std::size_t>(0, input.values.size() - 1)(rng);
      } while (!is_valid(input, i));
      Activations x = input;
      x.values[i] += eps;
      const double plus = projected_loss(layer, x, r, mode);
      x.values[i] -= 2 * eps;
      const double minus = projected_loss(layer, x, r, mode);
      expect_close(c, din.values[i], (plus - minus) / (2.0 * eps),
                   "input[" + std::to_string(i) + "]");
    }
    // Padding gets no gradient.
    for (std::size_t i = 0; i < din.values.size(); ++i)
      if (!is_valid(input, i)) EXPECT_EQ(din.values[i], 0.0f) << "padding element " << i;
  }
  return c;
}

void randomize(Layer& layer, std::mt19937& rng, float scale = 0.3f) {
  std::normal_distribution<float> nd(0.0f, scale);
  for (Parameter* p : layer.parameters())
    if (p->trainable)
      for (float& v : p->value)
        v = nd(rng);
}

TEST(Gradients, Conv2d) {
  std::mt19937 rng(1);
  for (auto [k, s, pad] : {std::tuple{3, 1, 1}, std::tuple{3, 2, 1}, std::tuple{1, 1, 0}}) {
    Conv2dSpec spec{"c", 3, 5, k, k, s, s, pad, pad, true};
    auto layer = make_conv_layer(spec);
    randomize(*layer, rng);
    auto c = gradient_check(*layer, random_maps(3, 3, 6, 11, {11, 7, 4}, rng));
    EXPECT_GT(c.compared, 0);
  }
}

TEST(Gradients, TuckerConv) {
  std::mt19937 rng(2);
  for (int rank_in : {2, 0}) {
    TuckerConvSpec spec{"t", 4, 6, 3, 3, 1, 1, 1, 1, rank_in, 3, true};
    auto layer = make_tucker_conv_layer(spec);
    randomize(*layer, rng, 0.5f);
    gradient_check(*layer, random_maps(2, 4, 5, 9, {9, 5}, rng));
  }
}

TEST(Gradients, BatchNormTrainingAndEvaluation) {
  std::mt19937 rng(3);
  auto layer = make_batch_norm_layer({"bn", 4, 1e-5f});
  randomize(*layer, rng, 1.0f);
  for (Parameter* p : layer->parameters())
    if (!p->trainable)
      for (float& v : p->value)
        v = std::abs(v) + 0.5f;
  gradient_check(*layer, random_maps(3, 4, 3, 8, {8, 3, 6}, rng), Mode::training, 1e-2f);
  gradient_check(*layer, random_maps(2, 4, 3, 8, {8, 5}, rng), Mode::evaluation, 1e-2f);
}

TEST(Gradients, BatchNormWithFusedRelu) {
  std::mt19937 rng(31);
  auto layer = make_batch_norm_layer({"bn", 5, 1e-5f}, true);
  randomize(*layer, rng, 1.0f);
  gradient_check(*layer, random_maps(3, 5, 3, 7, {7, 4, 6}, rng), Mode::training, 1e-3f);
  // Equal to batch norm followed by ReLU.
  auto plain = make_batch_norm_layer({"bn", 5, 1e-5f}, false);
  auto relu = make_relu_layer();
  for (std::size_t i = 0; i < plain->parameters().size(); ++i)
    plain->parameters()[i]->value = layer->parameters()[i]->value;
  Activations x = random_maps(2, 5, 2, 6, {6, 3}, rng), x2 = x, a, b, c;
  layer->forward(x, a, Mode::training);
  plain->forward(x2, b, Mode::training);
  relu->forward(b, c, Mode::training);
  EXPECT_EQ(a.values, c.values);
}

TEST(Gradients, BatchNormIgnoresPadding) {
  std::mt19937 rng(4);
  auto layer = make_batch_norm_layer({"bn", 2, 1e-5f});
  Activations a = random_maps(2, 2, 2, 6, {6, 3}, rng), b = a;
  for (int y = 0; y < 2; ++y)
    for (int x = 3; x < 6; ++x)
      for (int c = 0; c < 2; ++c)
        b.values[((1 * 2 + y) * 6 + x) * 2 + c] = 1000.0f;  // garbage in line 1's padding
  Activations oa, ob;
  layer->forward(a, oa, Mode::training);
  auto second = make_batch_norm_layer({"bn", 2, 1e-5f});
  second->forward(b, ob, Mode::training);
  for (std::size_t i = 0; i < oa.values.size(); ++i)
    if (is_valid(oa, i)) EXPECT_FLOAT_EQ(oa.values[i], ob.values[i]);
}

TEST(Gradients, MaxPool) {
  std::mt19937 rng(5);
  for (bool ceil_mode : {false, true}) {
    auto layer = make_max_pool_layer({2, 2, 2, 2, 0, 0, ceil_mode});
    gradient_check(*layer, random_maps(2, 3, 5, 9, {9, 5}, rng), Mode::training, 1e-3f);
    auto tall = make_max_pool_layer({2, 1, 2, 1, 0, 0, false});
    gradient_check(*tall, random_maps(2, 3, 4, 7, {7, 2}, rng), Mode::training, 1e-3f);
  }
}

TEST(Gradients, ReluDropoutCollapse) {
  std::mt19937 rng(6);
  auto relu = make_relu_layer();
  gradient_check(*relu, random_maps(2, 3, 2, 6, {6, 4}, rng), Mode::training, 1e-3f);
  auto dropout = make_dropout_layer({0.3f});
  dropout->set_seed(42);
  gradient_check(*dropout, random_maps(2, 3, 2, 6, {6, 4}, rng), Mode::training, 1e-2f);
  auto collapse = make_collapse_layer();
  gradient_check(*collapse, random_maps(2, 3, 2, 6, {6, 4}, rng));
}

TEST(Gradients, Lstm) {
  std::mt19937 rng(8);
  for (auto [layers, bidi] : {std::pair{1, true}, std::pair{2, true}, std::pair{2, false}}) {
    auto lstm = make_lstm_layer({"rnn", 5, 4, layers, bidi});
    randomize(*lstm, rng, 0.5f);
    auto c =
        gradient_check(*lstm, random_sequences(7, 3, 5, {7, 4, 1}, rng), Mode::training, 1e-2f, 30);
    EXPECT_LT(c.worst, 2e-2);
  }
}

TEST(Gradients, LinearAndLogSoftmax) {
  std::mt19937 rng(9);
  auto linear = make_linear_layer({"fc", 6, 5, true});
  randomize(*linear, rng);
  gradient_check(*linear, random_sequences(4, 2, 6, {4, 2}, rng));
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
