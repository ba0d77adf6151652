#include "layers/conv2d/conv2d_reference.hpp"
#include "layers/grouped_conv/grouped_conv.hpp"
#include "layers/layer_tests.hpp"

using namespace ocrcore;
using namespace ocrcore::detail;
using namespace ocrcore::layer_test;

namespace {

// The grouped convolution as a full one whose weights are zero between
// channels of different groups: what it must compute.
ConvOp as_full_convolution(const ConvOp& grouped) {
  ConvOp full = grouped;
  full.groups = 1;
  const int gi = grouped.in_channels / grouped.groups, go = grouped.out_channels / grouped.groups;
  const int taps = grouped.kernel_h * grouped.kernel_w;
  full.weight.assign(static_cast<std::size_t>(grouped.out_channels) * grouped.in_channels * taps,
                     0.0f);
  for (int o = 0; o < grouped.out_channels; ++o)
    for (int c = 0; c < gi; ++c)
      for (int k = 0; k < taps; ++k)
        full.weight[(static_cast<std::size_t>(o) * grouped.in_channels + o / go * gi + c) * taps +
                    k] = grouped.weight[(static_cast<std::size_t>(o) * gi + c) * taps + k];
  return full;
}

ConvOp random_grouped(int in, int out, int groups, int k, int stride, int pad, std::mt19937& rng) {
  std::normal_distribution<float> nd;
  ConvOp op;
  op.in_channels = in, op.out_channels = out, op.groups = groups;
  op.kernel_h = op.kernel_w = k, op.stride_h = op.stride_w = stride, op.pad_h = op.pad_w = pad;
  op.weight.resize(static_cast<std::size_t>(out) * (in / groups) * k * k);
  for (float& w : op.weight)
    w = nd(rng);
  op.bias.resize(out);
  for (float& b : op.bias)
    b = nd(rng);
  return op;
}

}  // namespace

TEST(GroupedConv, ReferenceIsTheFullConvolutionWithZerosBetweenGroups) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  for (auto [in, out, groups] : {std::tuple{6, 9, 3}, std::tuple{4, 4, 4}, std::tuple{8, 4, 2}}) {
    const ConvOp op = random_grouped(in, out, groups, 3, 1, 1, rng);
    FeatureMap x(in, 5, 9);
    for (float& v : x.values)
      v = nd(rng);
    const FeatureMap a = conv2d_reference(x, op), b = conv2d_reference(x, as_full_convolution(op));
    EXPECT_LE(test::max_abs_diff(a.values, b.values), 1e-5f)
        << in << "->" << out << " / " << groups;
  }
}

TEST_F(TorchLayers, GroupedAndDepthwiseMatchPyTorch) {
  struct Case {
    const char* name;
    int in, out, groups, kh, kw, sh, sw, ph, pw, h, w;
  };
  for (Case c : {Case{"gconv", 6, 9, 3, 3, 3, 1, 2, 1, 1, 7, 11},
                 Case{"dwconv", 4, 4, 4, 3, 5, 1, 1, 1, 2, 6, 9}}) {
    SCOPED_TRACE(c.name);
    const std::string n = c.name;
    Tensor x = get(n + ".input"), w = get(n + ".weight"), b = get(n + ".bias"),
           y = get(n + ".output");
    ConvOp op;
    op.in_channels = c.in, op.out_channels = c.out, op.groups = c.groups;
    op.kernel_h = c.kh, op.kernel_w = c.kw, op.stride_h = c.sh, op.stride_w = c.sw;
    op.pad_h = c.ph, op.pad_w = c.pw;
    op.weight = w.data;
    op.bias = b.data;
    auto out = conv2d_reference(map_from(c.in, c.h, c.w, x.data), op);
    ASSERT_EQ((std::vector<std::int64_t>{out.channels, out.height, out.width}), y.shape);
    EXPECT_LE(test::max_abs_diff(out.values, y.data), 1e-5f);
  }
}

TEST(GroupedConv, ArchitectureCountsAndRefusesBadGroups) {
  const auto arch = Architecture::from_json(R"({"input_height": 8, "layers": [
    {"type": "conv2d", "name": "a", "in_channels": 1, "out_channels": 8, "kernel_size": 3, "padding": 1},
    {"type": "grouped_conv", "name": "g", "in_channels": 8, "out_channels": 12, "kernel_size": 3,
     "padding": 1, "groups": 4},
    {"type": "batchnorm2d", "name": "bn", "num_features": 12}, {"type": "relu"},
    {"type": "collapse"},
    {"type": "linear", "name": "fc", "in_features": 96, "out_features": 5}]})");
  EXPECT_EQ(arch.layers[1].get<GroupedConvSpec>().groups, 4);
  // 12 x (8 / 4) x 3 x 3 weights + 12 biases.
  const auto tensors = arch.required_tensors();
  EXPECT_EQ(tensors[2].shape, (std::vector<std::int64_t>{12, 2, 3, 3}));
  EXPECT_EQ(arch.parameter_count(), (8 * 9 + 8) + (12 * 2 * 9 + 12) + (96 * 5 + 5));
  EXPECT_EQ(Architecture::from_json(arch.to_json()).to_json(), arch.to_json());
  EXPECT_THROW(Architecture::from_json(R"({"input_height": 8, "layers": [
    {"type": "grouped_conv", "name": "g", "in_channels": 1, "out_channels": 6, "kernel_size": 3,
     "groups": 4}, {"type": "collapse"},
    {"type": "linear", "name": "fc", "in_features": 36, "out_features": 5}]})"),
               Error);
}

TEST(GroupedConv, OnednnMatchesReference) {
  const int H = 9;
  // Grouped and depthwise, with and without stride, batch norm and ReLU
  // folded and fused into them.
  for (auto [cin, cout, groups, stride] :
       {std::tuple{6, 9, 3, 1}, std::tuple{6, 6, 6, 1}, std::tuple{8, 4, 2, 2}}) {
    const std::string pre =
        R"({"type": "conv2d", "name": "p", "in_channels": 1, "out_channels": )" +
        std::to_string(cin) + R"(, "kernel_size": 1}, {"type": "relu"},)";
    for (bool bn : {false, true}) {
      std::string layer = pre + R"({"type": "grouped_conv", "name": "g", "in_channels": )" +
                          std::to_string(cin) + R"(, "out_channels": )" + std::to_string(cout) +
                          R"(, "kernel_size": 3, "padding": 1, "stride": )" + pair(stride, stride) +
                          R"(, "groups": )" + std::to_string(groups) + "}";
      if (bn)
        layer += R"(, {"type": "batchnorm2d", "name": "bn", "num_features": )" +
                 std::to_string(cout) + R"(}, {"type": "relu"})";
      compare_engines(layer, H, cout, conv_len(H, 3, stride, 1));
    }
  }
}

// int8 (after a ReLU) and bf16 grouped convolutions against the reference's
// plain integer and bf16 arithmetic, one line at a time.
TEST(GroupedConv, Int8AndBf16MatchTheirPlainArithmetic) {
  const auto arch = Architecture::from_json(R"({"input_height": 12, "layers": [
    {"type": "conv2d", "name": "a", "in_channels": 1, "out_channels": 16, "kernel_size": 3, "padding": 1},
    {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
    {"type": "grouped_conv", "name": "g", "in_channels": 16, "out_channels": 24, "kernel_size": 3,
     "padding": 1, "groups": 4}, {"type": "relu"},
    {"type": "grouped_conv", "name": "d", "in_channels": 24, "out_channels": 24, "kernel_size": 3,
     "padding": 1, "groups": 24}, {"type": "relu"},
    {"type": "collapse"},
    {"type": "linear", "name": "fc", "in_features": 144, "out_features": 7}]})");
  auto model = test::random_model(arch, 29);
  std::mt19937 rng(30);
  std::vector<LineTensor> lines;
  for (int w : {3, 40, 97})
    lines.push_back(test::random_line(12, w, rng));
  int ran = 0;
  for (Precision precision : {Precision::int8, Precision::bf16}) {
    if (precision == Precision::int8 ? !int8_conv_supported() : !bf16_conv_supported()) continue;
    ++ran;
    const RecognizerOptions fast{.decoder = Decoder::greedy,
                                 .backend = Backend::onednn,
                                 .threads = 1,
                                 .conv_precision = precision};
    RecognizerOptions plain = fast;
    plain.backend = Backend::reference;
    Recognizer a(model, fast), b(model, plain);
    for (const LineTensor& line : lines) {
      const LogProbs x = a.forward(std::span(&line, 1)).front();
      const LogProbs y = b.forward(std::span(&line, 1)).front();
      // int8: the same integer sums (measured 5e-7 on conv2d); bf16: the same
      // rounded operands summed in another order.
      EXPECT_LE(test::max_abs_diff(x.values, y.values),
                precision == Precision::int8 ? 1e-4f : 2e-3f)
          << (precision == Precision::int8 ? "int8" : "bf16") << " width " << line.width;
    }
  }
  if (!ran) GTEST_SKIP() << "this CPU runs neither int8 nor bf16 convolutions";
}

#if OCRCORE_TEST_TRAINING
TEST(GroupedConv, GradientsMatchFiniteDifferences) {
  using namespace ocrcore::train;
  using namespace ocrcore::train::testing;
  std::mt19937 rng(1);
  for (auto [groups, s] : {std::pair{3, 1}, std::pair{6, 2}}) {
    GroupedConvSpec spec{"g", 6, 6, 3, 3, s, s, 1, 1, groups, true};
    auto layer = make_layer(spec);
    randomize(*layer, rng);
    auto c = gradient_check(*layer, random_maps(3, 6, 6, 11, {11, 7, 4}, rng));
    EXPECT_GT(c.compared, 0);
  }
}
#endif
