// The bundled default model end to end: image files -> text, scored like
// ocr-infer scores. Catches regressions in image loading, normalisation,
// engines and decoding that per-layer tests cannot see.

#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>

#include "core/file_io.hpp"
#include "io/line_sources.hpp"
#include "test_util.hpp"

using namespace ocrcore;
namespace fs = std::filesystem;

namespace {

const fs::path kModel = OCRCORE_DEFAULT_MODEL;
// A little above the figures in models/README.md.
constexpr double kSamplesMaxCer = 0.02;
constexpr double kUw3TestMaxCer = 0.022;

// CER over a directory of line images with NAME.gt.txt ground truth.
// The first `max_lines` of them when given.
double directory_cer(const fs::path& dir, Backend backend, std::size_t max_lines = SIZE_MAX) {
  std::istringstream none;
  auto sources = attach_ground_truth(expand_inputs({dir.string()}, none), std::nullopt);
  if (sources.size() > max_lines) sources.resize(max_lines);
  // One thread: ctest already runs tests in parallel, and oversubscribed OpenMP
  // teams spin-wait.
  Recognizer rec(Model::load(kModel), {Decoder::greedy, 1, backend, 1});
  std::vector<LabelledLine> lines;
  for (const auto& s : sources) {
    EXPECT_TRUE(s.ground_truth) << s.image;
    lines.push_back({s.image, s.ground_truth.value_or("")});
  }
  const TextScore score = evaluate(rec, lines);
  EXPECT_EQ(score.unreadable, 0u);
  EXPECT_GT(score.chars.reference_length, 50u);
  return score.cer();
}

}  // namespace

TEST(DefaultModel, BundledSamples) {
  EXPECT_LT(directory_cer(fs::path(OCRCORE_SOURCE_DIR) / "models" / "samples", Backend::onednn),
            kSamplesMaxCer);
}

TEST(DefaultModel, Uw3DevTest) {
  const fs::path data = test::shared_data_dir();
  if (data.empty()) GTEST_SKIP() << "../shared/data is absent: uw3-dev accuracy not checked";
  EXPECT_LT(directory_cer(data / "uw3-dev" / "test", Backend::onednn), kUw3TestMaxCer);
}

TEST(DefaultModel, BackendsAgreeOnText) {
  // Log-probabilities agree to 1e-4; a near-tie could still flip one argmax on
  // another instruction set, hence a tolerance of about one character. Four
  // lines: the reference engine takes seconds per line of a full-size model.
  const fs::path dir = fs::path(OCRCORE_SOURCE_DIR) / "models" / "samples";
  EXPECT_NEAR(directory_cer(dir, Backend::onednn, 4), directory_cer(dir, Backend::reference, 4),
              0.02);
}
