// CTC decoding against brute-force enumeration of every alignment on tiny
// alphabets and short sequences.

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::test;

TEST(Ctc, BestPathMergesRepeatsAndDropsBlanks) {
  // frames argmax: a a _ a b b _ _ c
  std::vector<int> argmax = {1, 1, 0, 1, 2, 2, 0, 0, 3};
  LogProbs lp{9, 4, std::vector<float>(36, -5.0f)};
  for (int t = 0; t < 9; ++t)
    lp.values[t * 4 + argmax[t]] = -0.1f;
  EXPECT_EQ(ctc::best_path(lp), (std::vector<int>{1, 1, 2, 3}));
}

TEST(Ctc, SequenceProbabilityMatchesBruteForce) {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 20; ++trial) {
    auto lp = random_log_probs(1 + trial % 6, 3 + trial % 2, rng);
    auto bf = enumerate_ctc_paths(lp);
    double total = 0;
    for (auto& [labels, p] : bf.prob) {
      EXPECT_NEAR(std::exp(ctc::sequence_log_prob(lp, labels)), p, 1e-9 + 1e-6 * p);
      total += p;
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
}

// The plain log-space forward algorithm: what the scaled one in
// ctc::sequence_log_prob must reproduce on lines too long to enumerate.
double log_space_sequence_log_prob(const LogProbs& lp, const std::vector<int>& labels) {
  auto log_add = [](double a, double b) {
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    return std::max(a, b) + std::log1p(std::exp(-std::abs(a - b)));
  };
  const int S = 2 * static_cast<int>(labels.size()) + 1;
  auto sym = [&](int s) { return s % 2 == 0 ? 0 : labels[s / 2]; };
  std::vector<double> alpha(S, -INFINITY), next(S);
  alpha[0] = lp.frame(0)[0];
  if (S > 1) alpha[1] = lp.frame(0)[sym(1)];
  for (int t = 1; t < lp.frames; ++t) {
    for (int s = 0; s < S; ++s) {
      double a = alpha[s];
      if (s >= 1) a = log_add(a, alpha[s - 1]);
      if (s >= 2 && sym(s) != 0 && sym(s) != sym(s - 2)) a = log_add(a, alpha[s - 2]);
      next[s] = a + lp.frame(t)[sym(s)];
    }
    alpha.swap(next);
  }
  return S > 1 ? log_add(alpha[S - 1], alpha[S - 2]) : alpha[0];
}

TEST(Ctc, SequenceProbabilityOfLongLinesMatchesLogSpace) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 12; ++trial) {
    const int T = 50 + 40 * trial, K = 4 + trial * 8;
    // Sharp frames make the probabilities of most labellings underflow double
    // long before the last frame: only the scaling keeps them.
    auto lp = random_log_probs(T, K, rng, trial % 2 ? 6.0f : 1.0f);
    std::vector<std::vector<int>> candidates{ctc::best_path(lp), {}};
    std::uniform_int_distribution<int> label(1, K - 1);
    for (int n : {1, T / 4, T / 2 - 1})
      candidates.emplace_back(n, 0);
    for (std::size_t c = 2; c < candidates.size(); ++c)
      for (int& k : candidates[c])
        k = trial == 3 ? 1 : label(rng);  // trial 3: repeats only
    double lowest = 0;
    for (const auto& labels : candidates) {
      const double expected = log_space_sequence_log_prob(lp, labels);
      const double got = ctc::sequence_log_prob(lp, labels);
      SCOPED_TRACE("T " + std::to_string(T) + ", labels " + std::to_string(labels.size()));
      if (expected == -INFINITY) {
        EXPECT_EQ(got, -INFINITY);
      } else {
        EXPECT_NEAR(got, expected, 1e-9 * std::max(1.0, std::abs(expected)));
        lowest = std::min(lowest, expected);
      }
    }
    // exp() of this is below the smallest double: unscaled, it would be 0.
    if (trial % 2) EXPECT_LT(lowest, -746.0);
  }
}

TEST(Ctc, BeamSearchWithWideBeamIsExact) {
  std::mt19937 rng(2);
  for (int trial = 0; trial < 30; ++trial) {
    const int T = 1 + trial % 7, K = 3 + trial % 2;
    auto lp = random_log_probs(T, K, rng, trial % 3 == 0 ? 0.5f : 2.0f);
    auto bf = enumerate_ctc_paths(lp);
    auto best = std::max_element(bf.prob.begin(), bf.prob.end(),
                                 [](auto& a, auto& b) { return a.second < b.second; });
    auto hyps = ctc::prefix_beam_search(lp, 100000);
    ASSERT_FALSE(hyps.empty());
    EXPECT_NEAR(std::exp(hyps[0].log_prob), best->second, 1e-6);
    EXPECT_NEAR(bf.prob[hyps[0].labels], best->second, 1e-6);
    // Every hypothesis carries its exact probability, best first.
    for (std::size_t i = 0; i < hyps.size(); ++i) {
      EXPECT_NEAR(std::exp(hyps[i].log_prob), bf.prob[hyps[i].labels], 1e-6);
      if (i) EXPECT_GE(hyps[i - 1].log_prob, hyps[i].log_prob);
    }
  }
}

TEST(Ctc, NarrowBeamFindsWhatGreedyMisses) {
  // Classic case: best path is blank-blank (""), but "a" has higher total mass.
  // p(a) = 0.4, p(blank) = 0.6 per frame, 2 frames: P("") = .36, P("a") = .64.
  LogProbs lp{2, 2, {std::log(0.6f), std::log(0.4f), std::log(0.6f), std::log(0.4f)}};
  EXPECT_TRUE(ctc::best_path(lp).empty());
  auto hyps = ctc::prefix_beam_search(lp, 2);
  EXPECT_EQ(hyps[0].labels, std::vector<int>{1});
  EXPECT_NEAR(std::exp(hyps[0].log_prob), 0.64, 1e-6);
}

TEST(Ctc, AlignmentIsTheViterbiPath) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    const int T = 3 + trial % 5;
    auto lp = random_log_probs(T, 3, rng);
    auto bf = enumerate_ctc_paths(lp);
    for (auto& [labels, best] : bf.best_path) {
      auto spans = ctc::align(lp, labels);
      ASSERT_EQ(spans.size(), labels.size());
      // Rebuild the path: labels on their spans, blank elsewhere; its score
      // must be the best over all paths of this labelling.
      std::vector<int> path(T, 0);
      int prev_end = 0;
      for (std::size_t i = 0; i < spans.size(); ++i) {
        EXPECT_EQ(spans[i].label, labels[i]);
        EXPECT_LT(spans[i].frame_begin, spans[i].frame_end);
        EXPECT_GE(spans[i].frame_begin, prev_end);
        prev_end = spans[i].frame_end;
        for (int t = spans[i].frame_begin; t < spans[i].frame_end; ++t)
          path[t] = labels[i];
      }
      EXPECT_EQ(collapse_path(path), labels);
      double logp = 0;
      for (int t = 0; t < T; ++t)
        logp += lp.frame(t)[path[t]];
      EXPECT_NEAR(logp, best, 1e-5);
    }
  }
}

TEST(Ctc, BestPathSpansAreTheViterbiAlignmentOfTheBestPath) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    // Long, sharp frames: runs of labels, repeats and blanks as a network gives.
    auto lp = random_log_probs(1 + trial % 60, 3 + trial % 7, rng, 4.0f);
    const auto spans = ctc::best_path_spans(lp);
    const auto viterbi = ctc::align(lp, ctc::best_path(lp));
    ASSERT_EQ(spans.size(), viterbi.size()) << "trial " << trial;
    for (std::size_t i = 0; i < spans.size(); ++i) {
      EXPECT_EQ(spans[i].label, viterbi[i].label);
      EXPECT_EQ(spans[i].frame_begin, viterbi[i].frame_begin) << "trial " << trial << " " << i;
      EXPECT_EQ(spans[i].frame_end, viterbi[i].frame_end) << "trial " << trial << " " << i;
    }
  }
  EXPECT_TRUE(ctc::best_path_spans(LogProbs{0, 3, {}}).empty());
}

TEST(Ctc, ImpossibleLabelling) {
  std::mt19937 rng(4);
  auto lp = random_log_probs(2, 3, rng);
  // "aa" needs a blank between the two a's: 3 frames.
  EXPECT_EQ(ctc::sequence_log_prob(lp, {1, 1}), -INFINITY);
  EXPECT_TRUE(ctc::align(lp, {1, 1}).empty());
  EXPECT_TRUE(std::isfinite(ctc::sequence_log_prob(lp, {1, 2})));
}
