#include "layers/batch_norm/batch_norm.hpp"
#include "layers/layer_tests.hpp"
#include "layers/relu/relu.hpp"

using namespace ocrcore;
using namespace ocrcore::layer_test;

TEST(BatchNorm, FoldedIntoTheConvolutionOnednnMatchesReference) {
  compare_engines(
      R"({"type": "conv2d", "name": "c", "in_channels": 1, "out_channels": 4, "kernel_size": 3,
              "padding": 1, "bias": false},
             {"type": "batchnorm2d", "name": "bn", "num_features": 4, "eps": 0.001},
             {"type": "relu"})",
      9, 4, 9);
}

#if OCRCORE_TEST_TRAINING
using namespace ocrcore::train;
using namespace ocrcore::train::testing;

TEST(BatchNorm, GradientsMatchFiniteDifferencesInTrainingAndEvaluation) {
  std::mt19937 rng(3);
  auto layer = make_layer(BatchNormSpec{"bn", 4, 1e-5f});
  randomize(*layer, rng, 1.0f);
  for (Parameter* p : layer->parameters())
    if (!p->trainable)
      for (float& v : p->value)
        v = std::abs(v) + 0.5f;
  gradient_check(*layer, random_maps(3, 4, 3, 8, {8, 3, 6}, rng), Mode::training, 1e-2f);
  gradient_check(*layer, random_maps(2, 4, 3, 8, {8, 5}, rng), Mode::evaluation, 1e-2f);
}

TEST(BatchNorm, WithFusedReluGradientsMatchAndEqualsBatchNormThenRelu) {
  std::mt19937 rng(31);
  auto layer =
      train_layers().fusion(LayerSpec(BatchNormSpec{"bn", 5, 1e-5f}), LayerSpec(ReluSpec{}))(
          BatchNormSpec{"bn", 5, 1e-5f}, ReluSpec{});
  randomize(*layer, rng, 1.0f);
  gradient_check(*layer, random_maps(3, 5, 3, 7, {7, 4, 6}, rng), Mode::training, 1e-3f);
  // Equal to batch norm followed by ReLU.
  auto plain = make_layer(BatchNormSpec{"bn", 5, 1e-5f});
  auto relu = make_layer(ReluSpec{});
  for (std::size_t i = 0; i < plain->parameters().size(); ++i)
    plain->parameters()[i]->value = layer->parameters()[i]->value;
  Activations x = random_maps(2, 5, 2, 6, {6, 3}, rng), x2 = x, a, b, c;
  layer->forward(x, a, Mode::training);
  plain->forward(x2, b, Mode::training);
  relu->forward(b, c, Mode::training);
  EXPECT_EQ(a.values, c.values);
}

TEST(BatchNorm, StatisticsIgnorePadding) {
  std::mt19937 rng(4);
  auto layer = make_layer(BatchNormSpec{"bn", 2, 1e-5f});
  Activations a = random_maps(2, 2, 2, 6, {6, 3}, rng), b = a;
  for (int y = 0; y < 2; ++y)
    for (int x = 3; x < 6; ++x)
      for (int c = 0; c < 2; ++c)
        b.values[((1 * 2 + y) * 6 + x) * 2 + c] = 1000.0f;  // garbage in line 1's padding
  Activations oa, ob;
  layer->forward(a, oa, Mode::training);
  auto second = make_layer(BatchNormSpec{"bn", 2, 1e-5f});
  second->forward(b, ob, Mode::training);
  for (std::size_t i = 0; i < oa.values.size(); ++i)
    if (is_valid(oa, i)) EXPECT_FLOAT_EQ(oa.values[i], ob.values[i]);
}
#endif
