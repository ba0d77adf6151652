// The bundled default model end to end: image files -> text, scored like
// ocr-infer scores. Catches regressions in image loading, normalisation,
// engines and decoding that per-layer tests cannot see.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <sstream>

#include "runtime/core/file_io.hpp"
#include "test_util.hpp"
#include "tool_support/line_sources.hpp"

using namespace ocrcore;
namespace fs = std::filesystem;

namespace {

const fs::path kModel = OCRCORE_DEFAULT_MODEL;
// A little above the figures in models/README.md.
constexpr double kSamplesMaxCer = 0.02;
constexpr double kUw3TestMaxCer = 0.022;

// CER over a directory of line images with NAME.gt.txt ground truth.
// The first `max_lines` of them when given.
double directory_cer(const fs::path& dir, Backend backend, std::size_t max_lines = SIZE_MAX,
                     const fs::path& model = kModel) {
  std::istringstream none;
  auto sources = attach_ground_truth(expand_inputs({dir.string()}, none), std::nullopt);
  if (sources.size() > max_lines) sources.resize(max_lines);
  // One thread: ctest already runs tests in parallel, and oversubscribed OpenMP
  // teams spin-wait.
  Recognizer rec(Model::load(model),
                 {.decoder = Decoder::greedy, .backend = backend, .threads = 1});
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

// The handwriting models on the ten bundled handwritten lines (six real MNIST
// digit strings, four handwriting-font lines): 3 and 7 errors in 165
// characters for the teacher and the compact model (models/README.md, int8
// with VNNI); the bounds leave room for a few more on CPUs that run them in
// another precision.
TEST(BundledModels, HandwrittenSamples) {
  const fs::path models = fs::path(OCRCORE_SOURCE_DIR) / "models";
  for (const auto& [name, bound] :
       {std::pair{"teacher-handwritten.ocrm", 0.05}, {"compact-handwritten.ocrm", 0.08}})
    EXPECT_LT(
        directory_cer(models / "samples-handwritten", Backend::onednn, SIZE_MAX, models / name),
        bound)
        << name;
}

TEST(DefaultModel, Uw3DevTest) {
  const fs::path data = test::shared_data_dir();
  if (data.empty()) GTEST_SKIP() << "../shared/data is absent: uw3-dev accuracy not checked";
  EXPECT_LT(directory_cer(data / "uw3-dev" / "test", Backend::onednn), kUw3TestMaxCer);
}

TEST(DefaultModel, BackendsAgreeOnText) {
  // Each line reads the same on both engines, text and frame by frame. Their
  // log-probabilities agree to about 1e-4 (the Backends tests), so a frame's
  // argmax may differ only where the reference's two best classes are closer
  // than 1e-3: such a near-tie is allowed, and the line's text is then not
  // compared. Four lines: the reference engine takes seconds per line of a
  // full-size model.
  const fs::path dir = fs::path(OCRCORE_SOURCE_DIR) / "models" / "samples";
  std::istringstream none;
  auto sources = expand_inputs({dir.string()}, none);
  ASSERT_GE(sources.size(), 4u);
  sources.resize(4);
  const auto model = Model::load(kModel);
  Recognizer fast(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1});
  Recognizer ref(model, {.decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1});
  int compared = 0;
  for (const auto& source : sources) {
    SCOPED_TRACE(source.string());
    const LineTensor line = normalize_line(load_image(source), model->preprocessing());
    const LogProbs a = ref.forward(std::span(&line, 1)).front();
    const LogProbs b = fast.forward(std::span(&line, 1)).front();
    ASSERT_EQ(a.frames, b.frames);
    ASSERT_EQ(a.classes, b.classes);
    bool near_tie = false;
    for (int t = 0; t < a.frames; ++t) {
      const float* fa = a.frame(t);
      const float* fb = b.frame(t);
      const auto best_a = std::max_element(fa, fa + a.classes) - fa;
      const auto best_b = std::max_element(fb, fb + b.classes) - fb;
      if (best_a == best_b) continue;
      const float margin = fa[best_a] - fa[best_b];
      EXPECT_LT(margin, 1e-3f) << "frame " << t << ": class " << best_a << " against " << best_b;
      near_tie = true;
    }
    if (near_tie) continue;
    ++compared;
    const std::string text = ref.decode(a, line.scale_x, line.offset_x).text;
    EXPECT_EQ(fast.decode(b, line.scale_x, line.offset_x).text, text);
    EXPECT_FALSE(text.empty());
  }
  EXPECT_GE(compared, 3) << "near-ties on most lines: the engines disagree more than rounding";
}
