// oneDNN backend against the reference, one layer type at a time, over many
// configurations: each case is a minimal network (the layer, a collapse, a
// linear output) so a mismatch points at the layer.

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::test;

namespace {

std::string pair(int a, int b) {
  return "[" + std::to_string(a) + ", " + std::to_string(b) + "]";
}

// `layers` (JSON, may be empty) between the input and collapse; the collapse
// feature size is found by validating with a placeholder first.
void compare(const std::string& layers, int height, int channels_out, int height_out,
             const std::string& sequence_layers = "", int sequence_out = 0) {
  const int d = channels_out * height_out;
  const int linear_in = sequence_out ? sequence_out : d;
  const std::string json = R"({"input_height": )" + std::to_string(height) + R"(, "layers": [)" +
                           layers + (layers.empty() ? "" : ",") + R"({"type": "collapse"},)" +
                           sequence_layers + (sequence_layers.empty() ? "" : ",") +
                           R"({"type": "linear", "name": "fc", "in_features": )" +
                           std::to_string(linear_in) + R"(, "out_features": 5}]})";
  SCOPED_TRACE(json);
  auto arch = Architecture::from_json(json);
  auto model = random_model(arch, 17);
  Recognizer ref(model, {Decoder::greedy, 1, Backend::reference, 1});
  Recognizer fast(model, {Decoder::greedy, 1, Backend::onednn, 1});
  std::mt19937 rng(5);
  std::vector<LineTensor> lines;
  for (int w : {1, 5, 16, 33, 70})
    lines.push_back(random_line(height, w, rng));
  auto a = ref.forward(lines), b = fast.forward(lines);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(a[i].frames, b[i].frames) << "width " << lines[i].width;
    EXPECT_LE(max_abs_diff(a[i].values, b[i].values), 1e-4f) << "width " << lines[i].width;
  }
}

int conv_len(int n, int k, int s, int p) {
  return (n + 2 * p - k) / s + 1;
}

}  // namespace

TEST(BackendLayers, Conv2d) {
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
        compare(layer, H, cout, ho);
      }
}

TEST(BackendLayers, BatchNormFolded) {
  compare(R"({"type": "conv2d", "name": "c", "in_channels": 1, "out_channels": 4, "kernel_size": 3,
              "padding": 1, "bias": false},
             {"type": "batchnorm2d", "name": "bn", "num_features": 4, "eps": 0.001},
             {"type": "relu"})",
          9, 4, 9);
}

TEST(BackendLayers, MaxPool) {
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
    compare(layer, H, 3, ho);
  }
}

TEST(BackendLayers, TuckerConv) {
  for (auto [r1, r2] : {std::pair{0, 2}, std::pair{2, 3}, std::pair{3, 4}})
    for (int k : {1, 3}) {
      std::string layer =
          R"({"type": "conv2d", "name": "p", "in_channels": 1, "out_channels": 3, "kernel_size": 1},
             {"type": "tucker_conv", "name": "t", "in_channels": 3, "out_channels": 5, "kernel_size": )" +
          std::to_string(k) + R"(, "padding": )" + std::to_string(k / 2) + R"(, "ranks": )" +
          pair(r1, r2) + "}, {\"type\": \"relu\"}";
      compare(layer, 7, 5, 7);
    }
}

TEST(BackendLayers, Lstm) {
  for (bool bidirectional : {false, true})
    for (int layers : {1, 2, 3}) {
      const int out = bidirectional ? 12 : 6;
      std::string lstm = R"({"type": "lstm", "name": "r", "input_size": 8, "hidden_size": 6,
                              "num_layers": )" +
                         std::to_string(layers) + R"(, "bidirectional": )" +
                         (bidirectional ? "true" : "false") + "}";
      compare(
          R"({"type": "conv2d", "name": "c", "in_channels": 1, "out_channels": 2, "kernel_size": 3,
                  "padding": 1})",
          4, 2, 4, lstm, out);
    }
}

TEST(BackendLayers, LinearAndReluInSequence) {
  compare("", 6, 1, 6,
          R"({"type": "linear", "name": "l1", "in_features": 6, "out_features": 7},
             {"type": "relu"}, {"type": "dropout", "p": 0.5})",
          7);
}
