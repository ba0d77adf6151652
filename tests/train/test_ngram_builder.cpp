// ocr-lm's n-gram builder: what it writes loads, and every context's
// distribution sums to one (Kneser-Ney and Witten-Bell, with and without
// pruning).

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "ocrcore/language_model.hpp"
#include "test_util.hpp"
#include "training/lm/ngram_builder.hpp"

namespace ocrcore::lm {
namespace {

std::shared_ptr<const LanguageModel> build(const NgramSettings& s, const test::TempDir& dir,
                                           const std::string& name) {
  std::ostringstream arpa;
  build_character_lm({std::filesystem::path(OCRCORE_FIXTURES_DIR) / "corpus.txt"}, s, arpa);
  test::write_bytes(dir / name, arpa.str());
  return LanguageModel::load(dir / name);
}

// Sum over every token the model can predict of P(token | context).
double total_probability(const LanguageModel& lm, LanguageModel::State state) {
  double sum = std::pow(10.0, lm.score(state, LanguageModel::kEnd, nullptr)) +
               std::pow(10.0, lm.score(state, LanguageModel::kUnknown, nullptr));
  for (const std::string& c : lm.characters())
    sum += std::pow(10.0, lm.score(state, lm.token(c), nullptr));
  return sum;
}

}  // namespace

TEST(NgramBuilder, DistributionsSumToOne) {
  test::TempDir dir;
  for (auto smoothing : {Smoothing::kneser_ney, Smoothing::witten_bell})
    for (int min_count : {1, 3}) {
      NgramSettings s;
      s.order = 4;
      s.smoothing = smoothing;
      s.min_count = min_count;
      auto lm = build(s, dir, "lm.arpa");
      // Contexts: the line start, and after frequent and rare text.
      for (const std::string text : {"", "th", "the ", "licen", "zq", "of t"}) {
        LanguageModel::State st = lm->begin_state();
        for (char c : text)
          lm->score(st, lm->token(std::string(1, c)), &st);
        EXPECT_NEAR(total_probability(*lm, st), 1.0, 2e-3)
            << "'" << text << "' " << (smoothing == Smoothing::kneser_ney ? "KN" : "WB")
            << " min_count " << min_count;
      }
    }
}

TEST(NgramBuilder, LearnsTheTextAndIsDeterministic) {
  test::TempDir dir;
  NgramSettings s;
  s.order = 5;
  auto lm = build(s, dir, "a.arpa");
  auto log10_prob = [&](const std::string& text) {
    LanguageModel::State st = lm->begin_state();
    double sum = 0;
    for (char c : text)
      sum += lm->score(st, lm->token(std::string(1, c)), &st);
    return sum;
  };
  // English spelling is far likelier than its scramble.
  EXPECT_GT(log10_prob("the software"), log10_prob("hte sfotwaer") + 3);
  std::ostringstream one, two;
  const std::filesystem::path corpus = std::filesystem::path(OCRCORE_FIXTURES_DIR) / "corpus.txt";
  build_character_lm({corpus}, s, one);
  build_character_lm({corpus}, s, two);
  EXPECT_EQ(one.str(), two.str());
  EXPECT_THROW(build_character_lm({dir / "absent.txt"}, s, one), Error);
}

}  // namespace ocrcore::lm
