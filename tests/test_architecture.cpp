#include <gtest/gtest.h>

#include <set>
#include <variant>

#include "layers/batch_norm/batch_norm.hpp"
#include "layers/conv2d/conv2d.hpp"
#include "layers/dropout/dropout.hpp"
#include "layers/layer_registry.hpp"
#include "layers/linear/linear.hpp"
#include "layers/lstm/lstm.hpp"
#include "layers/max_pool/max_pool.hpp"
#include "layers/tucker_conv/tucker_conv.hpp"
#include "test_util.hpp"

using namespace ocrcore;
using ocrcore::test::small_crnn;

namespace {

std::string arch_json(const std::string& layers, int height = 8) {
  return R"({"input_height": )" + std::to_string(height) + R"(, "layers": [)" + layers + "]}";
}

const std::string kTail = R"({"type": "collapse"},
  {"type": "linear", "name": "fc", "in_features": 16, "out_features": 3})";

void expect_error(const std::string& json, const std::string& fragment) {
  try {
    Architecture::from_json(json);
    FAIL() << "no error; expected one containing: " << fragment;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Architecture, JsonRoundTrip) {
  Architecture a = small_crnn(24, 11);
  Architecture b = Architecture::from_json(a.to_json());
  EXPECT_EQ(a.to_json(), b.to_json());
  EXPECT_EQ(b.validate(), 11);
  EXPECT_EQ(b.layers.size(), a.layers.size());
}

// The original layer kinds write back each field they read, non-default
// values included (each later kind's round trip is in its own test,
// tests/layers/test_<kind>.cpp), and every registered kind has a type name no
// other kind has.
TEST(Architecture, LayerKindsRoundTripWithTheirFields) {
  const auto a = Architecture::from_json(arch_json(R"(
    {"type": "conv2d", "name": "c", "in_channels": 1, "out_channels": 4, "kernel_size": [3, 5],
     "stride": [1, 2], "padding": [1, 2], "bias": false},
    {"type": "batchnorm2d", "name": "bn", "num_features": 4, "eps": 0.001},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": [2, 3], "stride": [2, 1], "padding": [1, 1],
     "ceil_mode": true},
    {"type": "tucker_conv", "name": "t", "in_channels": 4, "out_channels": 6, "kernel_size": 3,
     "padding": 1, "ranks": [2, 3], "bias": false},
    {"type": "dropout", "p": 0.25},
    {"type": "collapse"},
    {"type": "lstm", "name": "r", "input_size": 30, "hidden_size": 5, "num_layers": 2,
     "bidirectional": false},
    {"type": "linear", "name": "fc", "in_features": 5, "out_features": 7, "bias": false})"));
  const auto b = Architecture::from_json(a.to_json());
  EXPECT_EQ(a.to_json(), b.to_json());
  ASSERT_EQ(b.layers.size(), a.layers.size());
  std::set<std::string> names;
  for (std::size_t i = 0; i < b.layers.size(); ++i) {
    EXPECT_EQ(b.layers[i].type(), a.layers[i].type());
    EXPECT_TRUE(detail::layer_kinds().find(b.layers[i].type())) << b.layers[i].type();
    names.insert(std::string(b.layers[i].type()));
  }
  EXPECT_EQ(names.size(), b.layers.size()) << "each kind once";
  try {
    b.layers[0].get<LstmSpec>();
    ADD_FAILURE() << "a conv2d read as an lstm";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::internal);
    EXPECT_NE(std::string(e.what()).find("conv2d 'c'"), std::string::npos) << e.what();
  }
  std::set<std::string_view> registered;
  for (const auto& kind : detail::layer_kinds().entries())
    EXPECT_TRUE(registered.insert(kind.type).second) << kind.type << " registered twice";
  const auto& conv = b.layers[0].get<Conv2dSpec>();
  EXPECT_EQ(conv.kernel_w, 5);
  EXPECT_EQ(conv.stride_w, 2);
  EXPECT_FALSE(conv.bias);
  EXPECT_FLOAT_EQ(b.layers[1].get<BatchNormSpec>().eps, 0.001f);
  EXPECT_TRUE(b.layers[3].get<MaxPoolSpec>().ceil_mode);
  EXPECT_EQ(b.layers[4].get<TuckerConvSpec>().rank_out, 3);
  EXPECT_FLOAT_EQ(b.layers[5].get<DropoutSpec>().p, 0.25f);
  EXPECT_FALSE(b.layers[7].get<LstmSpec>().bidirectional);
  EXPECT_EQ(b.layers[7].get<LstmSpec>().num_layers, 2);
  EXPECT_FALSE(b.layers[8].get<LinearSpec>().bias);
  // The parameters are the required tensors' values, less the batch norm's
  // (folded into the convolution before it).
  std::int64_t values = 0;
  for (const auto& t : b.required_tensors())
    if (!t.name.starts_with("bn.")) {
      std::int64_t n = 1;
      for (auto d : t.shape)
        n *= d;
      values += n;
    }
  EXPECT_EQ(b.parameter_count(), values);
}

TEST(Architecture, ShapeAndCountFormulas) {
  // conv 1->2 (3x3, pad 1) on height 8, pool 2 -> 2 x 4 x W/2, collapse D = 8.
  auto a = Architecture::from_json(arch_json(R"(
    {"type": "conv2d", "name": "c", "in_channels": 1, "out_channels": 2, "kernel_size": 3, "padding": 1},
    {"type": "maxpool2d", "kernel_size": 2},
    {"type": "collapse"},
    {"type": "lstm", "name": "r", "input_size": 8, "hidden_size": 3},
    {"type": "linear", "name": "fc", "in_features": 6, "out_features": 4})"));
  EXPECT_EQ(a.validate(), 4);
  EXPECT_EQ(a.width_stride(), 2);
  EXPECT_EQ(a.frames_for_width(10), 5);
  EXPECT_EQ(a.frames_for_width(11), 5);
  EXPECT_EQ(a.frames_for_width(1), 0);
  // conv 2*1*9 + 2; lstm 2 dirs * (12*8 + 12*3 + 12 + 12); linear 4*6 + 4.
  EXPECT_EQ(a.parameter_count(), 20 + 2 * (96 + 36 + 24) + 28);
  // Multiply-adds for width 10: conv 2*9*8*10, lstm 2*5*12*(8+3), linear 5*6*4.
  EXPECT_DOUBLE_EQ(a.flops(10), 2.0 * (2 * 9 * 8 * 10 + 2 * 5 * 12 * 11 + 5 * 6 * 4));
}

TEST(Architecture, CeilModeFramesFollowPyTorch) {
  auto a = Architecture::from_json(arch_json(R"(
    {"type": "maxpool2d", "kernel_size": 2, "ceil_mode": true},
    {"type": "maxpool2d", "kernel_size": [2, 2], "ceil_mode": true},
    {"type": "maxpool2d", "kernel_size": [2, 1], "stride": [2, 1]},
    {"type": "collapse"},
    {"type": "linear", "name": "fc", "in_features": 1, "out_features": 3})"));
  for (int w = 1; w < 40; ++w)
    EXPECT_EQ(a.frames_for_width(w), (w + 3) / 4) << w;
}

TEST(Architecture, TuckerTensorsAndParameters) {
  auto a = small_crnn(16, 5);
  auto req = a.required_tensors();
  auto has = [&](const std::string& n, std::vector<std::int64_t> shape) {
    for (auto& r : req)
      if (r.name == n) return r.shape == shape;
    return false;
  };
  EXPECT_TRUE(has("t1.in.weight", {4, 6, 1, 1}));
  EXPECT_TRUE(has("t1.core.weight", {5, 4, 3, 3}));
  EXPECT_TRUE(has("t1.out.weight", {10, 5, 1, 1}));
  EXPECT_TRUE(has("t1.out.bias", {10}));
  EXPECT_TRUE(has("t2.core.weight", {4, 10, 1, 1}));  // rank_in 0: no input factor
  EXPECT_TRUE(has("rnn.weight_ih_l1_reverse", {28, 14}));
  EXPECT_TRUE(has("bn0.running_var", {6}));
  for (auto& r : req)
    EXPECT_NE(r.name, "t2.in.weight");
  for (auto& r : req)
    EXPECT_NE(r.name, "t2.out.bias");
}

TEST(Architecture, Errors) {
  expect_error("{", "not valid JSON");
  expect_error(arch_json(R"({"type": "conv3d"},)" + kTail), "unknown layer type 'conv3d'");
  expect_error(arch_json(R"({"type": "maxpool2d", "kernel_size": 2, "strid": 2},)" + kTail),
               "unknown field 'strid'");
  expect_error(arch_json(R"({"type": "conv2d", "name": "c", "in_channels": 3, "out_channels": 2,
                "kernel_size": 3},)" +
                         kTail),
               "in_channels 3 but the input has 1");
  expect_error(arch_json(R"({"type": "batchnorm2d", "name": "b", "num_features": 1},)" + kTail),
               "must directly follow a conv2d");
  expect_error(
      arch_json(R"({"type": "lstm", "name": "r", "input_size": 8, "hidden_size": 2},)" + kTail),
      "needs a feature sequence");
  expect_error(arch_json(R"({"type": "collapse"},
                {"type": "lstm", "name": "r", "input_size": 8, "hidden_size": 2})"),
               "last layer must be 'linear'");
  expect_error(arch_json(R"({"type": "conv2d", "name": "c", "in_channels": 1, "out_channels": 2,
                "kernel_size": 3, "padding": 1})"),
               "no 'collapse' layer");
  expect_error(
      arch_json(R"({"type": "tucker_conv", "name": "t", "in_channels": 1, "out_channels": 2,
                "kernel_size": 3, "ranks": [2, 2]},)" +
                kTail),
      "exceed the channels");
  expect_error(arch_json(R"({"type": "conv2d", "name": "c", "in_channels": 1, "out_channels": 2,
                "kernel_size": 9},)" +
                         kTail),
               "reduces the height to 0");
  expect_error(
      arch_json(R"({"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3},)" +
                kTail),
      "field 'name'");
  expect_error(arch_json(R"({"type": "conv2d", "name": "c", "in_channels": 1, "out_channels": 2,
                "kernel_size": [3]},)" +
                         kTail),
               "2 values");
}

// A file's errors name it; JSON nested far deeper than any architecture is
// refused with an error, not a stack overflow.
TEST(Architecture, LoadNamesTheFileAndBoundsNesting) {
  ocrcore::test::TempDir dir;
  const auto path = dir / "arch.json";
  ocrcore::test::write_bytes(path, arch_json(R"({"type": "conv3d"},)" + kTail));
  try {
    Architecture::load(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("conv3d"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Architecture::load(dir / "missing.json"), Error);
  const int depth = 100000;
  ocrcore::test::write_bytes(path, R"({"input_height": 8, "layers": [)" + std::string(depth, '[') +
                                       std::string(depth, ']') + "]}");
  EXPECT_THROW(Architecture::load(path), Error);
  std::string objects;
  for (int i = 0; i < depth; ++i)
    objects += R"({"a":)";
  ocrcore::test::write_bytes(
      path, R"({"input_height": 8, "layers": [)" + objects + "1" + std::string(depth, '}') + "]}");
  EXPECT_THROW(Architecture::load(path), Error);
}
