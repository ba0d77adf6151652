// Reference layers against direct formulas on hand-sized cases, and against
// PyTorch's own outputs (tests/fixtures/make_torch_parity.py).

#include <gtest/gtest.h>

#include <cmath>

#include "core/file_io.hpp"
#include "core/safetensors.hpp"
#include "nn/reference_layers.hpp"
#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::detail;

namespace {

FeatureMap map_from(int c, int h, int w, std::vector<float> v) {
  FeatureMap m(c, h, w);
  m.values = std::move(v);
  return m;
}

class TorchLayers : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = std::make_unique<MappedFile>(test::fixtures_dir() / "torch_crnn_io.safetensors");
    view_ = parse_safetensors(file_->data(), file_->size(), "fixture");
  }
  Tensor get(const std::string& name) const { return read_f32_tensor(view_, name); }

  std::unique_ptr<MappedFile> file_;
  SafetensorsView view_;
};

}  // namespace

TEST(ReferenceLayers, ConvDirectFormula) {
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

TEST(ReferenceLayers, MaxPoolDirectFormula) {
  PoolOp op{2, 2, 2, 2, 0, 0, true};
  auto in = map_from(1, 3, 3, {-1, -2, -3, -4, -5, -6, -7, -8, -9});
  auto out = maxpool_reference(in, op);
  ASSERT_EQ(out.height, 2);  // ceil mode keeps the partial window
  ASSERT_EQ(out.width, 2);
  EXPECT_FLOAT_EQ(out.at(0, 0, 0), -1);
  EXPECT_FLOAT_EQ(out.at(0, 0, 1), -3);  // overhang is ignored, not zero
  EXPECT_FLOAT_EQ(out.at(0, 1, 1), -9);
}

TEST(ReferenceLayers, CollapseOrder) {
  auto in = map_from(2, 2, 3, {0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112});
  auto s = collapse_reference(in);
  ASSERT_EQ(s.frames, 3);
  ASSERT_EQ(s.features, 4);
  // frame t, feature c*H + y = map[c][y][t]
  EXPECT_EQ(std::vector<float>(s.row(1), s.row(1) + 4), (std::vector<float>{1, 11, 101, 111}));
}

TEST(ReferenceLayers, LstmDirectFormula) {
  // One unit, one input, unidirectional: check two steps by hand.
  LstmOp op;
  op.input_size = 1, op.hidden_size = 1, op.num_layers = 1, op.bidirectional = false;
  op.layers.resize(1);
  auto& d = op.layers[0][0];
  d.w_ih = {0.5f, -0.3f, 0.8f, 0.1f};
  d.w_hh = {0.2f, 0.4f, -0.6f, 0.9f};
  d.bias = {0.1f, 0.2f, 0.0f, -0.1f};
  Sequence in(2, 1);
  in.values = {1.0f, -2.0f};
  auto out = lstm_reference(in, op);
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  double h = 0, c = 0;
  for (int t = 0; t < 2; ++t) {
    double x = in.values[t];
    double i = sig(0.5 * x + 0.2 * h + 0.1), f = sig(-0.3 * x + 0.4 * h + 0.2);
    double g = std::tanh(0.8 * x - 0.6 * h), o = sig(0.1 * x + 0.9 * h - 0.1);
    c = f * c + i * g;
    h = o * std::tanh(c);
    EXPECT_NEAR(out.values[t], h, 1e-6) << t;
  }
}

TEST(ReferenceLayers, LinearAndLogSoftmax) {
  LinearOp op;
  op.in_features = 2, op.out_features = 3;
  op.weight = {1, 0, 0, 1, 1, 1};
  op.bias = {0, 1, -1};
  Sequence in(1, 2);
  in.values = {2, 3};
  auto out = linear_reference(in, op);
  EXPECT_EQ(out.values, (std::vector<float>{2, 4, 4}));
  log_softmax_reference(out);
  double z = std::log(std::exp(2.0) + 2 * std::exp(4.0));
  EXPECT_NEAR(out.values[0], 2 - z, 1e-6);
  EXPECT_NEAR(out.values[1], 4 - z, 1e-6);
}

TEST(ReferenceLayers, LogSoftmaxStaysNormalisedForHugeLogits) {
  Sequence s(1, 3);
  s.values = {1e10f, 1e10f, -1e10f};
  log_softmax_reference(s);
  EXPECT_NEAR(s.values[0], -std::log(2.0), 1e-6);
  EXPECT_NEAR(s.values[1], -std::log(2.0), 1e-6);
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

TEST_F(TorchLayers, MaxPoolMatchesPyTorch) {
  Tensor x = get("pool.input"), y = get("pool.output");
  auto out = maxpool_reference(map_from(2, 7, 12, x.data), PoolOp{3, 3, 2, 2, 1, 1, true});
  ASSERT_EQ((std::vector<std::int64_t>{out.channels, out.height, out.width}), y.shape);
  EXPECT_EQ(out.values, y.data);
}

TEST_F(TorchLayers, LstmMatchesPyTorch) {
  LstmOp op;
  op.input_size = 5, op.hidden_size = 4, op.num_layers = 1, op.bidirectional = true;
  op.layers.resize(1);
  for (int d = 0; d < 2; ++d) {
    std::string sfx = d ? "_l0_reverse" : "_l0";
    auto& dir = op.layers[0][d];
    dir.w_ih = get("lstm.weight_ih" + sfx).data;
    dir.w_hh = get("lstm.weight_hh" + sfx).data;
    dir.bias = get("lstm.bias_ih" + sfx).data;
    auto bhh = get("lstm.bias_hh" + sfx).data;
    for (std::size_t i = 0; i < bhh.size(); ++i)
      dir.bias[i] += bhh[i];
  }
  Tensor x = get("lstm.input"), y = get("lstm.output");
  Sequence in(6, 5);
  in.values = x.data;
  auto out = lstm_reference(in, op);
  EXPECT_LE(test::max_abs_diff(out.values, y.data), 1e-5f);
}
