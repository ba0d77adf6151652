// The character language model (ARPA) and the beam decoder that uses it,
// against hand computation and brute-force enumeration.

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::test;

namespace {

std::shared_ptr<const LanguageModel> write_and_load(const TempDir& dir, const std::string& text,
                                                    const std::string& name = "lm.arpa") {
  write_bytes(dir / name, text);
  return LanguageModel::load(dir / name);
}

void expect_load_error(const TempDir& dir, const std::string& text, const std::string& fragment) {
  try {
    write_and_load(dir, text, "bad.arpa");
    FAIL() << "loaded; expected: " << fragment;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("bad.arpa"), std::string::npos) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
  }
}

}  // namespace

TEST(LanguageModel, ScoresByArpaBackOff) {
  TempDir dir;
  auto lm = write_and_load(dir, kTinyCharacterArpa);
  EXPECT_EQ(lm->order(), 2);
  EXPECT_EQ(lm->ngram_count(), 11u);
  const int a = lm->token("a"), b = lm->token("b"), space = lm->token(" ");
  EXPECT_EQ(lm->token("z"), LanguageModel::kUnknown);
  LanguageModel::State s = lm->begin_state(), after_a, after_b, next;
  EXPECT_FLOAT_EQ(lm->score(s, a, &after_a), -0.2f);              // <s> a: stored
  EXPECT_FLOAT_EQ(lm->score(s, b, &next), -0.30f + -0.7f);        // bow(<s>) + P(b)
  EXPECT_FLOAT_EQ(lm->score(after_a, b, &after_b), -0.4f);        // a b: stored
  EXPECT_FLOAT_EQ(lm->score(after_a, a, &next), -0.20f + -0.5f);  // bow(a) + P(a)
  EXPECT_FLOAT_EQ(lm->score(after_b, space, &next), -0.9f);       // b <space>
  EXPECT_FLOAT_EQ(lm->score(next, a, &next), 0.0f + -0.5f);       // bow(<space>) = 0
  EXPECT_FLOAT_EQ(lm->score(after_a, LanguageModel::kEnd, nullptr), -0.6f);
  EXPECT_FLOAT_EQ(lm->score(after_b, LanguageModel::kUnknown, nullptr), -0.10f + -2.0f);
}

TEST(LanguageModel, BadFilesNameTheFileAndLine) {
  TempDir dir;
  expect_load_error(dir, "just text\n", "not an ARPA language model");
  expect_load_error(dir, "\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\ta\n\\end\\\n",
                    "the header says 2, the file has 1");
  expect_load_error(dir, "\\data\\\nngram 1=1\n\n\\1-grams:\n-1.0\ta\n", "truncated");
  expect_load_error(dir, "\\data\\\nngram 1=1\n\n\\1-grams:\nx\ta\n\\end\\\n",
                    ":5: expected a log10 probability");
  expect_load_error(dir, "\\data\\\nngram 1=1\n\n\\1-grams:\n-1\tab\n\\end\\\n",
                    "token 'ab' is not one character");
  expect_load_error(dir,
                    "\\data\\\nngram 1=1\nngram 2=1\n\n\\1-grams:\n-1\ta\n\n\\2-grams:\n-1\ta "
                    "q\n\\end\\\n",
                    "token 'q' is not among the 1-grams");
  expect_load_error(dir, "\\data\\\nngram 1=1\n\n\\1-grams:\n19\ta\n\\end\\\n",
                    ":5: log10 probability 19 is outside [-1000, 0]");
  expect_load_error(dir, "\\data\\\nngram 1=1\n\n\\1-grams:\n-1\ta\t3e30\n\\end\\\n",
                    ":5: log10 back-off weight outside");
  EXPECT_THROW(LanguageModel::load(dir / "absent.arpa"), Error);
}

TEST(LanguageModel, HeaderCountsDoNotDriveAllocation) {
  // Found by fuzz_language_model (fuzz/regressions): a header claiming 6e17
  // 1-grams reserved 8 GB before reading any. A small file claiming a trillion
  // n-grams is now refused for the count it does not have.
  TempDir dir;
  expect_load_error(dir, "\\data\\\nngram 1=1000000000000\n\n\\1-grams:\n-1.0\ta\n\\end\\\n",
                    "the header says 1000000000000, the file has 1");
  // Every committed fuzzing input loads (scoring finitely) or is an Error.
  for (const auto& e : std::filesystem::directory_iterator(
           std::filesystem::path(OCRCORE_SOURCE_DIR) / "fuzz/regressions/fuzz_language_model")) {
    try {
      auto lm = LanguageModel::load(e.path());
      LanguageModel::State next = 0;
      for (int t = 1; t < 3 + static_cast<int>(lm->characters().size()); ++t)
        EXPECT_TRUE(std::isfinite(lm->score(lm->begin_state(), t, &next))) << e.path();
    } catch (const Error&) {
    }
  }
}

TEST(LanguageModel, BeamSearchWithWideBeamIsExact) {
  TempDir dir;
  auto lm = write_and_load(dir, kTinyCharacterArpa);
  // Model classes: blank, a, b, space, and x (which the language model lacks).
  const std::vector<std::string> alphabet = {"", "a", "b", " ", "x"};
  std::mt19937 rng(7);
  for (int trial = 0; trial < 24; ++trial) {
    const int T = 1 + trial % 5, K = trial % 2 ? 5 : 3;
    const std::vector<std::string> used(alphabet.begin(), alphabet.begin() + K);
    const auto lp = random_log_probs(T, K, rng, 1.5f);
    LanguageModelOptions opt;
    opt.weight = 0.3f + 0.4f * static_cast<float>(trial % 3);
    opt.bonus = trial % 4 == 0 ? 0.5f : 0.0f;
    opt.prune_log_prob = -INFINITY;
    // Brute force: every labelling scored as the decoder defines it.
    double best = -INFINITY;
    std::vector<int> best_labels;
    for (const auto& [labels, p] : enumerate_ctc_paths(lp).prob) {
      LanguageModel::State s = lm->begin_state();
      double lm_log10 = 0;
      for (int k : labels)
        lm_log10 += lm->score(s, lm->token(used[k]), &s);
      lm_log10 += lm->score(s, LanguageModel::kEnd, nullptr);
      const double score = std::log(p) + opt.weight * std::log(10.0) * lm_log10 +
                           opt.bonus * static_cast<double>(labels.size());
      if (score > best) {
        best = score;
        best_labels = labels;
      }
    }
    const auto hyps = ctc::prefix_beam_search(lp, 100000, *lm, used, opt);
    ASSERT_FALSE(hyps.empty());
    EXPECT_EQ(hyps[0].labels, best_labels) << "trial " << trial;
    EXPECT_NEAR(hyps[0].score, best, 1e-6) << "trial " << trial;
    for (std::size_t i = 1; i < hyps.size(); ++i)
      EXPECT_GE(hyps[i - 1].score, hyps[i].score);
  }
}

TEST(LanguageModel, WeightZeroIsThePlainBeamSearch) {
  TempDir dir;
  auto lm = write_and_load(dir, kTinyCharacterArpa);
  std::mt19937 rng(3);
  const auto lp = random_log_probs(12, 4, rng, 1.5f);
  LanguageModelOptions opt;
  opt.weight = 0;
  opt.bonus = 0;
  opt.prune_log_prob = -INFINITY;
  const auto with = ctc::prefix_beam_search(lp, 8, *lm, {"", "a", "b", " "}, opt);
  const auto without = ctc::prefix_beam_search(lp, 8);
  ASSERT_EQ(with.size(), without.size());
  for (std::size_t i = 0; i < with.size(); ++i) {
    EXPECT_EQ(with[i].labels, without[i].labels);
    EXPECT_DOUBLE_EQ(with[i].log_prob, without[i].log_prob);
  }
  EXPECT_THROW(ctc::prefix_beam_search(lp, 8, *lm, {"", "a"}, opt), Error);  // 2 != 4 classes
}
