#include "layers/layer_tests.hpp"
#include "layers/max_pool/max_pool.hpp"
#include "layers/max_pool/max_pool_reference.hpp"

using namespace ocrcore;
using namespace ocrcore::detail;
using namespace ocrcore::layer_test;

TEST(MaxPool, ReferenceMatchesTheDirectFormula) {
  PoolOp op{2, 2, 2, 2, 0, 0, true};
  auto in = map_from(1, 3, 3, {-1, -2, -3, -4, -5, -6, -7, -8, -9});
  auto out = maxpool_reference(in, op);
  ASSERT_EQ(out.height, 2);  // ceil mode keeps the partial window
  ASSERT_EQ(out.width, 2);
  EXPECT_FLOAT_EQ(out.at(0, 0, 0), -1);
  EXPECT_FLOAT_EQ(out.at(0, 0, 1), -3);  // overhang is ignored, not zero
  EXPECT_FLOAT_EQ(out.at(0, 1, 1), -9);
}

TEST_F(TorchLayers, MaxPoolMatchesPyTorch) {
  Tensor x = get("pool.input"), y = get("pool.output");
  auto out = maxpool_reference(map_from(2, 7, 12, x.data), PoolOp{3, 3, 2, 2, 1, 1, true});
  ASSERT_EQ((std::vector<std::int64_t>{out.channels, out.height, out.width}), y.shape);
  EXPECT_EQ(out.values, y.data);
}

TEST(MaxPool, OnednnMatchesReference) {
  const int H = 13;
  struct Case {
    int kh, kw, sh, sw, ph, pw;
    bool ceil;
  };
  // A conv without ReLU first, so pooled values can be negative (padding must
  // never win a window).
  const std::string conv =
      R"({"type": "conv2d", "name": "c", "in_channels": 1, "out_channels": 3, "kernel_size": 3, "padding": 1},)";
  for (Case c :
       {Case{2, 2, 2, 2, 0, 0, false}, Case{2, 2, 2, 2, 0, 0, true}, Case{3, 3, 2, 2, 1, 1, false},
        Case{3, 3, 2, 2, 1, 1, true}, Case{2, 1, 2, 1, 0, 0, false}, Case{3, 2, 1, 2, 1, 0, true},
        Case{3, 3, 3, 3, 0, 1, true}}) {
    std::string layer = conv + R"({"type": "maxpool2d", "kernel_size": )" + pair(c.kh, c.kw) +
                        R"(, "stride": )" + pair(c.sh, c.sw) + R"(, "padding": )" +
                        pair(c.ph, c.pw) + R"(, "ceil_mode": )" + (c.ceil ? "true" : "false") + "}";
    int span = H + 2 * c.ph - c.kh + (c.ceil ? c.sh - 1 : 0);
    int ho = span / c.sh + 1;
    if (c.ceil && (ho - 1) * c.sh >= H + c.ph) --ho;
    compare_engines(layer, H, 3, ho);
  }
}

#if OCRCORE_TEST_TRAINING
TEST(MaxPool, GradientsMatchFiniteDifferences) {
  using namespace ocrcore::train;
  using namespace ocrcore::train::testing;
  std::mt19937 rng(5);
  for (bool ceil_mode : {false, true}) {
    auto layer = make_layer(MaxPoolSpec{2, 2, 2, 2, 0, 0, ceil_mode});
    gradient_check(*layer, random_maps(2, 3, 5, 9, {9, 5}, rng), Mode::training, 1e-3f);
    auto tall = make_layer(MaxPoolSpec{2, 1, 2, 1, 0, 0, false});
    gradient_check(*tall, random_maps(2, 3, 4, 7, {7, 2}, rng), Mode::training, 1e-3f);
  }
}
#endif
