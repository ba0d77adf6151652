#pragma once

// What each layer kind's tests (tests/layers/test_<kind>.cpp) share: the
// reference layers against formulas and PyTorch's outputs
// (tests/fixtures/make_torch_parity.py), the oneDNN engine against the
// reference, and, where the training side is built (OCRCORE_TEST_TRAINING),
// the backward pass against finite differences (train/gradient_check.hpp).

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ocrcore/recognizer.hpp"
#include "runtime/core/file_io.hpp"
#include "runtime/core/safetensors.hpp"
#include "runtime/engines/reference/log_softmax_reference.hpp"
#include "test_util.hpp"

#if OCRCORE_TEST_TRAINING
#include "train/gradient_check.hpp"
#include "training/train/layer_factory.hpp"
#endif

namespace ocrcore::layer_test {

inline detail::FeatureMap map_from(int c, int h, int w, std::vector<float> v) {
  detail::FeatureMap m(c, h, w);
  m.values = std::move(v);
  return m;
}

// The tensors of tests/fixtures/torch_crnn_io.safetensors: PyTorch's inputs,
// weights and outputs per layer.
class TorchLayers : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ =
        std::make_unique<detail::MappedFile>(test::fixtures_dir() / "torch_crnn_io.safetensors");
    view_ = detail::parse_safetensors(file_->data(), file_->size(), "fixture");
  }
  Tensor get(const std::string& name) const { return detail::read_f32_tensor(view_, name); }

  std::unique_ptr<detail::MappedFile> file_;
  detail::SafetensorsView view_;
};

inline std::string pair(int a, int b) {
  return "[" + std::to_string(a) + ", " + std::to_string(b) + "]";
}

inline int conv_len(int n, int k, int s, int p) {
  return (n + 2 * p - k) / s + 1;
}

// The oneDNN engine against the reference on a minimal network: `layers`
// (JSON, may be empty) between the input and the collapse, `sequence_layers`
// between the collapse and a linear output, so a mismatch points at the
// layer. `channels_out` x `height_out` is what the collapse receives,
// `sequence_out` (0: the collapse's size) what the linear output does.
inline void compare_engines(const std::string& layers, int height, int channels_out, int height_out,
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
  auto model = test::random_model(arch, 17);
  Recognizer ref(model, {.decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1});
  Recognizer fast(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1});
  std::mt19937 rng(5);
  std::vector<LineTensor> lines;
  for (int w : {1, 5, 16, 33, 70})
    lines.push_back(test::random_line(height, w, rng));
  auto a = ref.forward(lines), b = fast.forward(lines);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(a[i].frames, b[i].frames) << "width " << lines[i].width;
    EXPECT_LE(test::max_abs_diff(a[i].values, b[i].values), 1e-4f) << "width " << lines[i].width;
  }
}

}  // namespace ocrcore::layer_test
