// Whole-model parity with PyTorch: tests/fixtures/make_torch_parity.py built a
// random CNN-BLSTM (Conv2d, BatchNorm2d, MaxPool2d with ceil_mode, a Tucker-2
// chain, 2-layer bidirectional nn.LSTM, Linear), saved it in our format, and
// saved its log-probabilities for a few lines.

#include <gtest/gtest.h>

#include "runtime/core/file_io.hpp"
#include "runtime/core/safetensors.hpp"
#include "test_util.hpp"

using namespace ocrcore;

namespace {

struct Fixture {
  std::vector<LineTensor> lines;
  std::vector<Tensor> expected;
};

Fixture load_fixture() {
  detail::MappedFile file(test::fixtures_dir() / "torch_crnn_io.safetensors");
  auto view = detail::parse_safetensors(file.data(), file.size(), "fixture");
  Fixture f;
  for (int i = 0; view.entries.count("input." + std::to_string(i)); ++i) {
    Tensor x = detail::read_f32_tensor(view, "input." + std::to_string(i));
    LineTensor l;
    l.height = static_cast<int>(x.shape[0]);
    l.width = static_cast<int>(x.shape[1]);
    l.pixels = x.data;
    f.lines.push_back(l);
    f.expected.push_back(detail::read_f32_tensor(view, "logprobs." + std::to_string(i)));
  }
  return f;
}

void check(Backend backend, bool batched) {
  auto model = Model::load(test::fixtures_dir() / "torch_crnn.ocrm");
  Fixture f = load_fixture();
  ASSERT_GE(f.lines.size(), 3u);
  Recognizer rec(model, {.decoder = Decoder::greedy, .backend = backend, .threads = 1});
  std::vector<LogProbs> got;
  if (batched) {
    got = rec.forward(f.lines);
  } else {
    for (const auto& l : f.lines)
      got.push_back(rec.forward(std::span(&l, 1)).front());
  }
  for (std::size_t i = 0; i < f.lines.size(); ++i) {
    ASSERT_EQ(got[i].frames, f.expected[i].shape[0]) << "line " << i;
    ASSERT_EQ(got[i].classes, f.expected[i].shape[1]);
    EXPECT_LE(test::max_abs_diff(got[i].values, f.expected[i].data), 1e-4f) << "line " << i;
  }
}

}  // namespace

TEST(TorchParity, ReferenceMatchesPyTorch) {
  check(Backend::reference, false);
}
TEST(TorchParity, OnednnMatchesPyTorch) {
  check(Backend::onednn, false);
}
TEST(TorchParity, OnednnBatchedMatchesPyTorch) {
  check(Backend::onednn, true);
}
