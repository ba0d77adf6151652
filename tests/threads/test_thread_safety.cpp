// Built with ThreadSanitizer (`ctest -L tsan`): eight threads, each with its
// own Recognizer, read the same lines with one shared Model (and one shared
// language model), over and over. TSan must see no race, and every thread's
// results must be bit-identical to one thread's: text, confidences, frames
// and boxes of every character.

#include <gtest/gtest.h>

#include <thread>

#include "ocrcore/ocrcore.hpp"
#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::test;
namespace fs = std::filesystem;

namespace {

void expect_identical(const LineResult& got, const LineResult& want, const std::string& what) {
  EXPECT_EQ(got.text, want.text) << what;
  EXPECT_EQ(got.confidence, want.confidence) << what;
  ASSERT_EQ(got.chars.size(), want.chars.size()) << what;
  for (std::size_t c = 0; c < want.chars.size(); ++c) {
    EXPECT_EQ(got.chars[c].text, want.chars[c].text) << what;
    EXPECT_EQ(got.chars[c].confidence, want.chars[c].confidence) << what;
    EXPECT_EQ(got.chars[c].frame_begin, want.chars[c].frame_begin) << what;
    EXPECT_EQ(got.chars[c].frame_end, want.chars[c].frame_end) << what;
    EXPECT_EQ(got.chars[c].x_begin, want.chars[c].x_begin) << what;
    EXPECT_EQ(got.chars[c].x_end, want.chars[c].x_end) << what;
  }
}

// Eight threads against one, each reading the lines as one batch and one by
// one (a line read alone and in a batch may differ in the last bits; a line
// read the same way must not differ at all).
void eight_threads_match_one(const std::shared_ptr<const Model>& model,
                             const std::vector<Image>& images, const RecognizerOptions& options,
                             const std::string& what) {
  std::vector<ImageView> views(images.begin(), images.end());
  Recognizer single(model, options);
  const std::vector<LineResult> want_batch = single.recognize(views);
  std::vector<LineResult> want_alone;
  for (const ImageView& v : views)
    want_alone.push_back(single.recognize(v));
  constexpr int kThreads = 8, kRounds = 3;
  std::vector<std::vector<LineResult>> batch(kThreads), alone(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      Recognizer own(model, options);
      for (int round = 0; round < kRounds; ++round) {
        // Threads start at different lines and in different modes, so that
        // they are at different places at the same time.
        for (int mode = 0; mode < 2; ++mode) {
          if ((t + round + mode) % 2 == 0) {
            batch[t] = own.recognize(views);
          } else {
            alone[t].resize(views.size());
            for (std::size_t k = 0; k < views.size(); ++k) {
              const std::size_t i = (k + t) % views.size();
              alone[t][i] = own.recognize(views[i]);
            }
          }
        }
      }
    });
  for (auto& th : threads)
    th.join();
  for (int t = 0; t < kThreads; ++t)
    for (std::size_t i = 0; i < views.size(); ++i) {
      const std::string where = ", thread " + std::to_string(t) + ", line " + std::to_string(i);
      expect_identical(batch[t][i], want_batch[i], what + ", batch" + where);
      expect_identical(alone[t][i], want_alone[i], what + ", alone" + where);
    }
}

std::vector<Image> sample_lines() {
  std::vector<Image> images;
  const fs::path samples = fs::path(OCRCORE_SOURCE_DIR) / "models/samples";
  for (int i = 1; i <= 6; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%06d.png", i);
    images.push_back(load_image(samples / name));
  }
  return images;
}

TEST(ThreadSafety, BundledModelGreedyAndBeamWithLanguageModel) {
  const fs::path models = fs::path(OCRCORE_SOURCE_DIR) / "models";
  auto model = Model::load(models / "compact-printed.ocrm");
  const auto images = sample_lines();
  RecognizerOptions greedy;
  greedy.threads = 1;
  eight_threads_match_one(model, images, greedy, "greedy");
  RecognizerOptions beam = greedy;
  beam.decoder = Decoder::beam;
  beam.beam_width = 5;
  beam.language_model = LanguageModel::load(models / "printed-english.ocrlm");
  eight_threads_match_one(model, images, beam, "beam + LM");
}

// recognize_files with several threads runs the whole program on worker
// threads of its own (a single-thread engine each, the language model shared):
// no race, and every line exactly as one thread reads it, in input order.
TEST(ThreadSafety, FilePipelineMatchesOneThread) {
  const fs::path models = fs::path(OCRCORE_SOURCE_DIR) / "models";
  auto model = Model::load(models / "compact-printed.ocrm");
  std::vector<fs::path> paths;
  for (int round = 0; round < 4; ++round)
    for (const auto& e : fs::directory_iterator(models / "samples"))
      if (e.path().extension() == ".png") paths.push_back(e.path());
  RecognizerOptions options;
  options.decoder = Decoder::beam;
  options.beam_width = 5;
  options.language_model = LanguageModel::load(models / "printed-english.ocrlm");
  auto read = [&](int threads) {
    options.threads = threads;
    Recognizer rec(model, options);
    std::vector<LineResult> results;
    rec.recognize_files(
        paths,
        [&](std::size_t i, LineOutcome&& o) {
          ASSERT_EQ(i, results.size());
          ASSERT_TRUE(o.result) << o.error->what();
          results.push_back(std::move(*o.result));
        },
        1);
    return results;
  };
  const auto one = read(1), three = read(3);
  ASSERT_EQ(three.size(), paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i)
    expect_identical(three[i], one[i], paths[i].string());
}

TEST(ThreadSafety, EveryLayerKindOnTheSharedModel) {
  // Tucker convolutions (composed or not), ceil-mode pooling, a 2-layer BLSTM.
  auto model = random_model(small_crnn(16, 9), 11);
  std::vector<Image> images;
  for (unsigned i = 0; i < 5; ++i)
    images.push_back(random_image(60 + 37 * static_cast<int>(i), 20, i));
  RecognizerOptions options;
  options.threads = 1;
  eight_threads_match_one(model, images, options, "random model");
  options.backend = Backend::reference;
  eight_threads_match_one(model, images, options, "random model, reference backend");
}

}  // namespace
