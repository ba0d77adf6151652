// `ocr-lm tune`'s grid: a language model that knows better corrects the
// network's reading at a positive weight and not at weight 0; the best point
// and its tie-breaking; thread count does not change the figures; the tuned
// options a model file records.

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ocrcore/ocrcore.hpp"
#include "test_util.hpp"
#include "training/lm/weight_tuning.hpp"

namespace ocrcore::lm {
namespace {

const std::vector<std::string> kAlphabet = {"", "a", "b", " "};

LogProbs frames(const std::vector<std::vector<float>>& probs) {
  LogProbs lp;
  lp.frames = static_cast<int>(probs.size());
  lp.classes = 4;
  for (const auto& f : probs)
    for (float p : f)
      lp.values.push_back(std::log(p));
  return lp;
}

// The network leans to "b" (0.6 against 0.4), the truth and the language
// model (test::kTinyCharacterArpa: "a" far likelier than "b" as a whole line)
// say "a".
TuningLine ambiguous_line() {
  return {frames({{0.97f, 0.01f, 0.01f, 0.01f},
                  {0.01f, 0.39f, 0.59f, 0.01f},
                  {0.97f, 0.01f, 0.01f, 0.01f}}),
          "a"};
}

TEST(LmTuning, APositiveWeightCorrectsWhatTheLanguageModelKnows) {
  test::TempDir dir;
  test::write_bytes(dir / "lm.arpa", test::kTinyCharacterArpa);
  auto lm = LanguageModel::load(dir / "lm.arpa");
  const std::vector<TuningLine> lines = {ambiguous_line()};
  TuningGrid grid{{0.0f, 1.0f}, {0.0f}};
  const auto points = evaluate_weight_grid(lines, *lm, kAlphabet, grid);
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].chars.errors, 1u);  // weight 0: the network's "b"
  EXPECT_EQ(points[1].chars.errors, 0u);
  EXPECT_EQ(points[1].chars.reference_length, 1u);
  EXPECT_EQ(best_point(points).weight, 1.0f);
  EXPECT_EQ(evaluate_greedy(lines, kAlphabet, 1).chars.errors, 1u);
}

TEST(LmTuning, TiesGoToTheMilderPoint) {
  std::vector<TuningPoint> points(4);
  const float wb[4][2] = {{1.0f, 0.5f}, {0.5f, 1.0f}, {0.5f, 0.0f}, {0.2f, 0.0f}};
  for (int i = 0; i < 4; ++i) {
    points[i].weight = wb[i][0];
    points[i].bonus = wb[i][1];
    points[i].chars = {3, 100};
    points[i].words = {2, 20};
  }
  points[3].words.errors = 3;  // fewer character errors are equal; more word errors lose
  EXPECT_EQ(&best_point(points), &points[2]);
  points[0].chars.errors = 2;
  EXPECT_EQ(&best_point(points), &points[0]);
  EXPECT_THROW(best_point({}), Error);
}

TEST(LmTuning, ThreadsDoNotChangeTheFigures) {
  test::TempDir dir;
  test::write_bytes(dir / "lm.arpa", test::kTinyCharacterArpa);
  auto lm = LanguageModel::load(dir / "lm.arpa");
  std::mt19937 rng(5);
  std::vector<TuningLine> lines;
  const char* truths[] = {"ab", "a b", "ba", "b", "aa b"};
  for (int i = 0; i < 20; ++i)
    lines.push_back({test::random_log_probs(10 + i % 5, 4, rng, 1.5f), truths[i % 5]});
  TuningGrid grid{{0.0f, 0.5f, 2.0f}, {0.0f, 1.0f}};
  grid.threads = 1;
  const auto one = evaluate_weight_grid(lines, *lm, kAlphabet, grid);
  grid.threads = 2;
  const auto two = evaluate_weight_grid(lines, *lm, kAlphabet, grid);
  ASSERT_EQ(one.size(), 6u);
  ASSERT_EQ(two.size(), 6u);
  for (std::size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].weight, two[i].weight);
    EXPECT_EQ(one[i].bonus, two[i].bonus);
    EXPECT_EQ(one[i].chars.errors, two[i].chars.errors);
    EXPECT_EQ(one[i].words.errors, two[i].words.errors);
  }
  EXPECT_EQ(one[5].weight, 2.0f);
  EXPECT_EQ(one[5].bonus, 1.0f);
  grid.weights.clear();
  EXPECT_THROW(evaluate_weight_grid(lines, *lm, kAlphabet, grid), Error);
}

TEST(LmTuning, ModelFilesRecordTunedOptions) {
  test::TempDir dir;
  const auto arch = test::small_crnn();
  const auto tensors = test::random_tensors(arch, 1);
  Preprocessing pre;
  pre.height = arch.input_height;
  save_model(dir / "plain.ocrm", arch, test::test_alphabet(9), pre, tensors);
  const LanguageModelOptions defaults;
  auto plain = tuned_language_model_options(*Model::load(dir / "plain.ocrm"));
  EXPECT_EQ(plain.weight, defaults.weight);
  EXPECT_EQ(plain.bonus, defaults.bonus);

  save_model(dir / "tuned.ocrm", arch, test::test_alphabet(9), pre, tensors,
             {{kMetadataLmWeight, "0.3"}, {kMetadataLmBonus, "1.5"}});
  auto tuned = tuned_language_model_options(*Model::load(dir / "tuned.ocrm"));
  EXPECT_FLOAT_EQ(tuned.weight, 0.3f);
  EXPECT_FLOAT_EQ(tuned.bonus, 1.5f);
  EXPECT_EQ(tuned.prune_log_prob, defaults.prune_log_prob);

  for (const char* bad : {"0.3x", "", "nan", "heavy"}) {
    save_model(dir / "bad.ocrm", arch, test::test_alphabet(9), pre, tensors,
               {{kMetadataLmWeight, bad}});
    try {
      tuned_language_model_options(*Model::load(dir / "bad.ocrm"));
      ADD_FAILURE() << "accepted lm_weight '" << bad << "'";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("bad.ocrm"), std::string::npos) << what;
      EXPECT_NE(what.find("lm_weight"), std::string::npos) << what;
    }
  }
}

}  // namespace
}  // namespace ocrcore::lm
