// The character language model (ARPA) and the beam decoder that uses it,
// against hand computation and brute-force enumeration.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <sstream>

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
                    ":5: log10 back-off weight 3e+30 is outside");
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

namespace {

// Every token from every context of up to order - 1 tokens drawn from the
// model's own tokens (exhaustive for small models, sampled otherwise): the
// two models score alike and move to the same next context.
void expect_same_scores(const LanguageModel& a, const LanguageModel& b, int contexts) {
  ASSERT_EQ(a.order(), b.order());
  ASSERT_EQ(a.characters(), b.characters());
  ASSERT_EQ(a.ngram_count(), b.ngram_count());
  const int tokens = 3 + static_cast<int>(a.characters().size());
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> pick(1, tokens - 1);
  for (int c = 0; c < contexts; ++c) {
    LanguageModel::State s = a.begin_state(), ignored;
    const int length = c % a.order();
    for (int i = 0; i < length; ++i)
      a.score(s, pick(rng), &s);
    for (int t = 0; t < tokens; ++t) {
      LanguageModel::State next_a = 0, next_b = 1;
      ASSERT_EQ(a.score(s, t, &next_a), b.score(s, t, &next_b))
          << "context " << c << " token " << t;
      ASSERT_EQ(next_a, next_b);
    }
    (void)ignored;
  }
}

}  // namespace

TEST(LanguageModel, BinaryFormScoresAsTheArpa) {
  TempDir dir;
  auto arpa = write_and_load(dir, kTinyCharacterArpa);
  arpa->write_binary(dir / "lm.ocrlm");
  auto binary = LanguageModel::load(dir / "lm.ocrlm");
  expect_same_scores(*arpa, *binary, 200);
  EXPECT_EQ(binary->token("a"), arpa->token("a"));
  EXPECT_EQ(binary->token(" "), arpa->token(" "));
  // A random order-4 model over 30 characters with thousands of n-grams
  // (collisions in every table, back-off chains of every length).
  std::mt19937 rng(11);
  std::vector<std::string> chars;
  for (int c = 0; c < 30; ++c)
    chars.push_back(c == 0 ? "<space>" : c == 1 ? "\xc3\xa9" : std::string(1, char('A' + c)));
  std::uniform_real_distribution<float> value(-4.0f, 0.0f);
  std::uniform_int_distribution<int> pick(0, 29);
  std::vector<std::set<std::string>> grams(4);
  for (const auto& c : chars)
    grams[0].insert(c);
  grams[0].insert("<s>");
  grams[0].insert("</s>");
  grams[0].insert("<unk>");
  for (int n = 2; n <= 4; ++n)
    for (int i = 0; i < 1500 * (n - 1); ++i) {
      std::string g = "<s>";
      for (int k = 1; k < n; ++k)
        g += " " + chars[pick(rng)];
      if (i % 3) g = g.substr(g.find(' ') + 1) + " " + chars[pick(rng)];
      grams[n - 1].insert(g);
    }
  std::ostringstream text;
  text << "\\data\\\n";
  for (int n = 1; n <= 4; ++n)
    text << "ngram " << n << "=" << grams[n - 1].size() << "\n";
  for (int n = 1; n <= 4; ++n) {
    text << "\n\\" << n << "-grams:\n";
    for (const auto& g : grams[n - 1]) {
      text << value(rng) << "\t" << g;
      if (n < 4) text << "\t" << value(rng) / 4;
      text << "\n";
    }
  }
  text << "\n\\end\\\n";
  auto random_arpa = write_and_load(dir, text.str(), "random.arpa");
  random_arpa->write_binary(dir / "random.ocrlm");
  expect_same_scores(*random_arpa, *LanguageModel::load(dir / "random.ocrlm"), 5000);
  // Written again from the binary form: the same bytes.
  binary->write_binary(dir / "again.ocrlm");
  EXPECT_EQ(read_bytes(dir / "again.ocrlm"), read_bytes(dir / "lm.ocrlm"));
}

TEST(LanguageModel, BadBinaryFilesNameTheFileAndWhatIsWrong) {
  TempDir dir;
  write_and_load(dir, kTinyCharacterArpa)->write_binary(dir / "good.ocrlm");
  const std::string good = read_bytes(dir / "good.ocrlm");
  // Offsets (docs/language-model-format.md): header 32 bytes; order 2, so the
  // capacities and counts take 32 more; then the names.
  auto expect_error = [&](std::string bytes, const std::string& fragment) {
    write_bytes(dir / "bad.ocrlm", bytes);
    try {
      LanguageModel::load(dir / "bad.ocrlm");
      ADD_FAILURE() << "loaded; expected: " << fragment;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("bad.ocrlm"), std::string::npos) << what;
      EXPECT_NE(what.find(fragment), std::string::npos) << what;
    }
  };
  auto patched = [&](std::size_t offset, const void* value, std::size_t size) {
    std::string bytes = good;
    std::memcpy(bytes.data() + offset, value, size);
    return bytes;
  };
  const std::uint32_t version = 9, order = 12, characters = 1000;
  const float nan = std::nanf("");
  const std::uint64_t count = 1000, capacity = 24;
  expect_error(good.substr(0, 20), "truncated header");
  expect_error(good.substr(0, good.size() - 16), "truncated");
  expect_error(good + std::string(8, '\0'), "8 bytes after the last table");
  expect_error(patched(8, &version, 4), "version 9");
  expect_error(patched(12, &order, 4), "order 12 is not supported");
  expect_error(patched(16, &characters, 4), "more than 251 characters");
  expect_error(patched(20, &nan, 4), "<unk>: a number is not finite");
  expect_error(patched(32, &capacity, 8), "1-grams: capacity 24");
  expect_error(patched(40, &count, 8), "1-grams: capacity");
  // A table with no empty slot would make a lookup of an absent n-gram loop.
  std::uint64_t cap1 = 0;
  std::memcpy(&cap1, good.data() + 32, 8);
  expect_error(patched(40, &cap1, 8), "1-grams: capacity");
  // Damage inside the 2-gram table: a key with a token past the alphabet, a
  // key of three tokens, a probability above 1.
  const std::size_t table2 = good.size() - [&] {
    std::uint64_t cap2 = 0;
    std::memcpy(&cap2, good.data() + 48, 8);
    return cap2 * 16;
  }();
  std::size_t used = table2;
  while (good.compare(used, 8, std::string(8, '\0')) == 0)
    used += 16;
  const std::uint64_t unknown_token = 0xfe01, three_tokens = 0x040404;
  const float positive = 2.0f;
  expect_error(patched(used, &unknown_token, 8), "holds an unknown token");
  expect_error(patched(used, &three_tokens, 8), "holds too many tokens");
  expect_error(patched(used + 8, &positive, 4), "log10 probability 2 is outside");
  std::string cleared = good;
  std::memset(cleared.data() + used, 0, 16);
  expect_error(cleared, "2-grams: the header says");
}

namespace {

// A labelling's language-model terms as the beam decoder defines them:
// weight * ln P_lm (the end of the line included when `ended`) + bonus * |y|.
double lm_terms(const LanguageModel& lm, const std::vector<int>& labels,
                const std::vector<std::string>& alphabet, const LanguageModelOptions& opt,
                bool ended) {
  LanguageModel::State s = lm.begin_state();
  double log10 = 0;
  for (int k : labels)
    log10 += lm.score(s, lm.token(alphabet[k]), &s);
  if (ended) log10 += lm.score(s, LanguageModel::kEnd, nullptr);
  return opt.weight * std::log(10.0) * log10 + opt.bonus * static_cast<double>(labels.size());
}

}  // namespace

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
      const double score = std::log(p) + lm_terms(*lm, labels, used, opt, true);
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

namespace {

// Prefix beam search as its definition reads: prefixes as strings of labels
// in a map, every frame's extensions (labels at or above `prune`) from every
// beam entry, the beam cut to the best `width` by CTC plus language-model
// score. The reference for the decoder's trie, candidate lists and
// blank-frame shortcut.
std::vector<ctc::Hypothesis> reference_beam_search(const LogProbs& lp, int width,
                                                   const LanguageModel* lm,
                                                   const std::vector<std::string>& alphabet,
                                                   const LanguageModelOptions& opt) {
  auto add = [](double a, double b) {
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    return std::max(a, b) + std::log1p(std::exp(-std::abs(a - b)));
  };
  auto terms = [&](const std::vector<int>& labels, bool ended) {
    return lm ? lm_terms(*lm, labels, alphabet, opt, ended) : 0.0;
  };
  struct Entry {
    double pb = -INFINITY, pnb = -INFINITY;
  };
  std::map<std::vector<int>, Entry> beam{{{}, Entry{0.0, -INFINITY}}};
  for (int t = 0; t < lp.frames; ++t) {
    const float* f = lp.frame(t);
    std::map<std::vector<int>, Entry> next;
    for (const auto& [prefix, e] : beam) {
      const double total = add(e.pb, e.pnb);
      next[prefix].pb = add(next[prefix].pb, total + f[0]);
      const int last = prefix.empty() ? 0 : prefix.back();
      if (last != 0) next[prefix].pnb = add(next[prefix].pnb, e.pnb + f[last]);
      for (int k = 1; k < lp.classes; ++k) {
        if (f[k] < opt.prune_log_prob) continue;
        const double from = k == last ? e.pb : total;
        if (from == -INFINITY) continue;
        auto longer = prefix;
        longer.push_back(k);
        next[longer].pnb = add(next[longer].pnb, from + f[k]);
      }
    }
    std::vector<std::pair<double, std::vector<int>>> ranked;
    for (const auto& [prefix, e] : next)
      ranked.push_back({add(e.pb, e.pnb) + terms(prefix, false), prefix});
    std::sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first > b.first; });
    beam.clear();
    for (int i = 0; i < std::min<int>(width, static_cast<int>(ranked.size())); ++i)
      beam[ranked[i].second] = next[ranked[i].second];
  }
  std::vector<ctc::Hypothesis> out;
  for (const auto& [prefix, e] : beam) {
    const double log_prob = add(e.pb, e.pnb);
    out.push_back({prefix, log_prob, log_prob + terms(prefix, true)});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.score > b.score; });
  return out;
}

}  // namespace

TEST(LanguageModel, BeamSearchMatchesThePlainReference) {
  TempDir dir;
  auto lm = write_and_load(dir, kTinyCharacterArpa);
  const std::vector<std::string> alphabet = {"", "a", "b", " ", "x"};
  std::mt19937 rng(11);
  for (int trial = 0; trial < 120; ++trial) {
    // Sharp frames as a network's: most frames blank, then pruning leaves
    // no label to try and the blank-frame shortcut runs.
    const int T = 1 + trial % 40, width = 1 + trial % 6;
    const auto lp = random_log_probs(T, 5, rng, trial % 2 ? 6.0f : 2.0f);
    LanguageModelOptions opt;
    opt.weight = 0.2f + 0.3f * static_cast<float>(trial % 3);
    opt.bonus = trial % 4 == 0 ? 1.0f : 0.0f;
    opt.prune_log_prob = trial % 3 == 0 ? -INFINITY : -2.0f - static_cast<float>(trial % 5);
    const bool with_lm = trial % 5 != 4;
    const auto fast = with_lm ? ctc::prefix_beam_search(lp, width, *lm, alphabet, opt)
                              : ctc::prefix_beam_search(lp, width, opt.prune_log_prob);
    const auto reference =
        reference_beam_search(lp, width, with_lm ? lm.get() : nullptr, alphabet, opt);
    ASSERT_EQ(fast.size(), reference.size()) << "trial " << trial;
    for (std::size_t i = 0; i < fast.size(); ++i) {
      EXPECT_EQ(fast[i].labels, reference[i].labels) << "trial " << trial << " hypothesis " << i;
      EXPECT_NEAR(fast[i].log_prob, reference[i].log_prob, 1e-9) << "trial " << trial;
      EXPECT_NEAR(fast[i].score, reference[i].score, 1e-9) << "trial " << trial;
    }
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
