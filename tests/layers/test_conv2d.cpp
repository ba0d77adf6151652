#include "layers/conv2d/conv2d.hpp"
#include "layers/conv2d/conv2d_reference.hpp"
#include "layers/layer_tests.hpp"

using namespace ocrcore;
using namespace ocrcore::detail;
using namespace ocrcore::layer_test;

TEST(Conv2d, ReferenceMatchesTheDirectFormula) {
  // 1 input channel 3x3, one 2x2 kernel, stride 1, no padding, bias 0.5.
  ConvOp op;
  op.in_channels = 1, op.out_channels = 1, op.kernel_h = 2, op.kernel_w = 2;
  op.weight = {1, 2, 3, 4};
  op.bias = {0.5f};
  auto in = map_from(1, 3, 3, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto out = conv2d_reference(in, op);
  ASSERT_EQ(out.height, 2);
  ASSERT_EQ(out.width, 2);
  // out(y,x) = sum w * in + b
  EXPECT_FLOAT_EQ(out.at(0, 0, 0), 1 * 1 + 2 * 2 + 3 * 4 + 4 * 5 + 0.5f);
  EXPECT_FLOAT_EQ(out.at(0, 1, 1), 1 * 5 + 2 * 6 + 3 * 8 + 4 * 9 + 0.5f);
  // Padding 1 adds zero borders: corner sees only in(0,0) under w[1][1].
  op.pad_h = op.pad_w = 1;
  op.weight = {-1, -1, -1, 4};
  op.relu = true;
  out = conv2d_reference(in, op);
  ASSERT_EQ(out.width, 4);
  EXPECT_FLOAT_EQ(out.at(0, 0, 0), 4 * 1 + 0.5f);
  EXPECT_FLOAT_EQ(out.at(0, 3, 3), 0.0f);  // -9 + 0.5 clipped by ReLU
}

TEST_F(TorchLayers, Conv2dMatchesPyTorch) {
  Tensor x = get("conv.input"), w = get("conv.weight"), b = get("conv.bias"),
         y = get("conv.output");
  ConvOp op;
  op.in_channels = 3, op.out_channels = 5, op.kernel_h = 3, op.kernel_w = 5;
  op.stride_h = 2, op.stride_w = 1, op.pad_h = 1, op.pad_w = 2;
  op.weight = w.data;
  op.bias = b.data;
  auto out = conv2d_reference(map_from(3, 9, 13, x.data), op);
  ASSERT_EQ((std::vector<std::int64_t>{out.channels, out.height, out.width}), y.shape);
  EXPECT_LE(test::max_abs_diff(out.values, y.data), 1e-5f);
}

TEST(Conv2d, OnednnMatchesReference) {
  const int H = 11;
  struct Case {
    int kh, kw, sh, sw, ph, pw;
  };
  for (Case c : {Case{1, 1, 1, 1, 0, 0}, Case{3, 3, 1, 1, 1, 1}, Case{3, 5, 1, 1, 1, 2},
                 Case{5, 3, 2, 1, 2, 1}, Case{3, 3, 2, 2, 0, 1}, Case{2, 3, 1, 2, 0, 0},
                 Case{4, 4, 3, 3, 2, 2}})
    for (bool relu : {false, true})
      for (int cin : {1, 3}) {
        const int cout = 4, ho = conv_len(H, c.kh, c.sh, c.ph);
        std::string pre =
            cin == 1
                ? ""
                : R"({"type": "conv2d", "name": "p", "in_channels": 1, "out_channels": 3, "kernel_size": 1},)";
        std::string layer = pre + R"({"type": "conv2d", "name": "c", "in_channels": )" +
                            std::to_string(cin) + R"(, "out_channels": 4, "kernel_size": )" +
                            pair(c.kh, c.kw) + R"(, "stride": )" + pair(c.sh, c.sw) +
                            R"(, "padding": )" + pair(c.ph, c.pw) + "}" +
                            (relu ? R"(, {"type": "relu"})" : "");
        compare_engines(layer, H, cout, ho);
      }
}

#if OCRCORE_TEST_TRAINING
TEST(Conv2d, GradientsMatchFiniteDifferences) {
  using namespace ocrcore::train;
  using namespace ocrcore::train::testing;
  std::mt19937 rng(1);
  for (auto [k, s, pad] : {std::tuple{3, 1, 1}, std::tuple{3, 2, 1}, std::tuple{1, 1, 0}}) {
    Conv2dSpec spec{"c", 3, 5, k, k, s, s, pad, pad, true};
    auto layer = make_layer(spec);
    randomize(*layer, rng);
    auto c = gradient_check(*layer, random_maps(3, 3, 6, 11, {11, 7, 4}, rng));
    EXPECT_GT(c.compared, 0);
  }
}
#endif
