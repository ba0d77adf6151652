#include "training/lm/ngram_builder.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "ocrcore/error.hpp"
#include "ocrcore/metrics.hpp"

namespace ocrcore::lm {

namespace {

// Token ids as ocrcore::LanguageModel numbers them; n-gram keys pack id + 1
// per byte, the last token in the lowest byte.
constexpr int kBegin = 0, kEnd = 1, kUnknown = 2, kFirstCharacter = 3;
constexpr int kMaxCharacters = 251;

using Key = std::uint64_t;
using Counts = std::unordered_map<Key, double>;

int first_token(Key key, int n) {
  return static_cast<int>((key >> (8 * (n - 1))) & 0xff) - 1;
}
Key suffix(Key key, int n) {  // the last n - 1 tokens
  return n <= 1 ? 0 : key & ((1ULL << (8 * (n - 1))) - 1);
}
Key prefix(Key key) {  // all but the last token
  return key >> 8;
}

std::vector<std::u32string> read_lines(const std::vector<std::filesystem::path>& corpus,
                                       const NgramSettings& s, std::size_t& characters) {
  std::mt19937_64 rng(s.seed);
  std::vector<std::u32string> lines;
  std::string text;
  for (const auto& file : corpus) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(file.string() + ": cannot read the corpus file", ErrorKind::io);
    std::size_t line_no = 0;
    while (std::getline(in, text)) {
      ++line_no;
      if (!is_valid_utf8(text)) continue;  // binary or mis-encoded text: skipped
      const std::u32string paragraph = normalize_whitespace(utf8_decode(text));
      // Lines of min_line..max_line characters, cut after a word.
      std::size_t start = 0;
      while (start < paragraph.size()) {
        const auto want = std::uniform_int_distribution<std::size_t>(
            static_cast<std::size_t>(s.min_line), static_cast<std::size_t>(s.max_line))(rng);
        std::size_t end = std::min(paragraph.size(), start + want);
        if (end < paragraph.size()) {
          const auto space = paragraph.rfind(U' ', end);
          if (space != std::u32string::npos && space > start) end = space;
        }
        std::u32string line = paragraph.substr(start, end - start);
        if (!line.empty() && line.front() == U' ') line.erase(0, 1);
        if (!line.empty()) {
          characters += line.size();
          lines.push_back(std::move(line));
        }
        start = end;
      }
    }
  }
  return lines;
}

std::string token_text(int id, const std::vector<std::string>& chars) {
  if (id == kBegin) return "<s>";
  if (id == kEnd) return "</s>";
  if (id == kUnknown) return "<unk>";
  const std::string& c = chars[id - kFirstCharacter];
  return c == " " ? "<space>" : c;
}

}  // namespace

NgramReport build_character_lm(const std::vector<std::filesystem::path>& corpus,
                               const NgramSettings& s, std::ostream& arpa) {
  if (s.order < 1 || s.order > 8) throw Error("n-gram order must be 1 to 8");
  if (s.min_line < 1 || s.max_line < s.min_line) throw Error("bad line length range");
  NgramReport report;
  const auto lines = read_lines(corpus, s, report.characters);
  report.lines = lines.size();
  if (lines.empty()) throw Error("the corpus has no text");

  // Vocabulary: the given characters, or the most frequent ones seen.
  std::vector<std::string> chars = s.characters;
  if (chars.empty()) {
    std::map<char32_t, std::size_t> seen;
    for (const auto& l : lines)
      for (char32_t c : l)
        ++seen[c];
    std::vector<std::pair<std::size_t, char32_t>> by_count;
    for (auto [c, n] : seen)
      by_count.push_back({n, c});
    std::stable_sort(by_count.begin(), by_count.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    if (by_count.size() > kMaxCharacters) by_count.resize(kMaxCharacters);
    std::vector<char32_t> keep;
    for (auto [n, c] : by_count)
      keep.push_back(c);
    std::sort(keep.begin(), keep.end());
    for (char32_t c : keep)
      chars.push_back(utf8_encode(std::u32string(1, c)));
  }
  if (chars.size() > kMaxCharacters)
    throw Error("more than " + std::to_string(kMaxCharacters) + " characters");
  std::unordered_map<char32_t, int> id;
  for (std::size_t k = 0; k < chars.size(); ++k)
    id[utf8_decode(chars[k]).at(0)] = kFirstCharacter + static_cast<int>(k);
  const int vocabulary = static_cast<int>(chars.size()) + 2;  // characters, </s>, <unk>

  // Raw counts of every n-gram, order 1..N (index n - 1).
  const int N = s.order;
  std::vector<Counts> raw(N);
  std::vector<int> tokens;
  for (const auto& l : lines) {
    tokens.assign(1, kBegin);
    for (char32_t c : l) {
      auto it = id.find(c);
      tokens.push_back(it == id.end() ? kUnknown : it->second);
    }
    tokens.push_back(kEnd);
    for (std::size_t i = 1; i < tokens.size(); ++i) {
      Key key = 0;
      for (int n = 1; n <= N && static_cast<int>(i) - n + 1 >= 0; ++n) {
        key |= static_cast<Key>(tokens[i - n + 1] + 1) << (8 * (n - 1));
        raw[n - 1][key] += 1;
      }
    }
  }

  // Counts the estimate uses: Kneser-Ney's continuation counts below the top
  // order (distinct left neighbours; raw counts for n-grams starting at <s>),
  // Witten-Bell's raw counts.
  std::vector<Counts> adjusted = raw;
  if (s.smoothing == Smoothing::kneser_ney) {
    for (int n = 1; n < N; ++n) {
      Counts cont;
      for (const auto& [key, c] : raw[n])
        cont[suffix(key, n + 1)] += 1;
      for (auto& [key, a] : adjusted[n - 1])
        if (first_token(key, n) != kBegin) a = cont.count(key) ? cont[key] : 0;
    }
  }
  // Per context: the sum of counts and the number of distinct next tokens.
  std::vector<std::unordered_map<Key, std::pair<double, double>>> context(N);
  for (int n = 1; n <= N; ++n)
    for (const auto& [key, a] : adjusted[n - 1])
      if (a > 0) {
        auto& [sum, types] = context[n - 1][prefix(key)];
        sum += a;
        types += 1;
      }
  // Kneser-Ney's discount per order from the counts of counts.
  std::vector<double> discount(N, 0.5);
  for (int n = 1; n <= N; ++n) {
    double n1 = 0, n2 = 0;
    for (const auto& [key, a] : adjusted[n - 1]) {
      n1 += a == 1;
      n2 += a == 2;
    }
    if (n1 > 0 && n2 > 0) discount[n - 1] = std::clamp(n1 / (n1 + 2 * n2), 0.05, 0.95);
  }

  // Interpolated probability of the last token of `key` (n tokens) given the
  // others, and the weight its context gives the lower order.
  std::vector<std::unordered_map<Key, double>> memo(N);
  auto lower_weight = [&](int n, Key ctx) {
    auto it = context[n - 1].find(ctx);
    if (it == context[n - 1].end()) return 1.0;  // unseen context: all to the lower order
    const auto [sum, types] = it->second;
    return s.smoothing == Smoothing::kneser_ney ? discount[n - 1] * types / sum
                                                : types / (sum + types);
  };
  std::function<double(int, Key)> interpolated = [&](int n, Key key) -> double {
    if (n == 0) return 1.0 / vocabulary;
    if (auto m = memo[n - 1].find(key); m != memo[n - 1].end()) return m->second;
    const double lower = interpolated(n - 1, suffix(key, n));
    double p = lower;
    if (auto c = context[n - 1].find(prefix(key)); c != context[n - 1].end()) {
      const auto [sum, types] = c->second;
      auto a = adjusted[n - 1].find(key);
      const double count = a == adjusted[n - 1].end() ? 0.0 : a->second;
      p = s.smoothing == Smoothing::kneser_ney
              ? std::max(count - discount[n - 1], 0.0) / sum + lower_weight(n, prefix(key)) * lower
              : (count + types * lower) / (sum + types);
    }
    memo[n - 1][key] = p;
    return p;
  };

  // What is written: every unigram and <unk>; higher orders seen min_count
  // times or more (orders 1-2 always).
  std::vector<std::vector<Key>> kept(N);
  for (int n = 1; n <= N; ++n) {
    for (const auto& [key, c] : raw[n - 1])
      if (n <= 2 || c >= s.min_count) kept[n - 1].push_back(key);
    std::sort(kept[n - 1].begin(), kept[n - 1].end());
  }
  for (int t : {kBegin, kUnknown})
    if (!raw[0].count(static_cast<Key>(t + 1))) kept[0].push_back(static_cast<Key>(t + 1));
  for (int k = kFirstCharacter; k < kFirstCharacter + static_cast<int>(chars.size()); ++k)
    if (!raw[0].count(static_cast<Key>(k + 1))) kept[0].push_back(static_cast<Key>(k + 1));
  std::sort(kept[0].begin(), kept[0].end());
  std::vector<std::unordered_map<Key, double>> stored(N), backoff(N);
  for (int n = 1; n <= N; ++n)
    for (Key key : kept[n - 1])
      stored[n - 1][key] = first_token(key, n) == kBegin && n == 1 ? 0.0 : interpolated(n, key);
  // The probability an ARPA reader gives (stored, else back off).
  std::function<double(int, Key)> effective = [&](int n, Key key) -> double {
    if (n == 0) return 1.0 / vocabulary;
    if (auto it = stored[n - 1].find(key); it != stored[n - 1].end()) return it->second;
    double bow = 1.0;
    if (n > 1)
      if (auto b = backoff[n - 2].find(prefix(key)); b != backoff[n - 2].end()) bow = b->second;
    return bow * effective(n - 1, suffix(key, n));
  };
  // Back-off weights, lowest order first, so that each context's distribution
  // sums to one over what is kept and what backs off.
  for (int n = 1; n < N; ++n) {
    std::unordered_map<Key, std::pair<double, double>> mass;  // kept higher, their lower
    for (Key key : kept[n]) {
      auto& [high, low] = mass[prefix(key)];
      high += stored[n][key];
      low += effective(n, suffix(key, n + 1));
    }
    for (const auto& [ctx, m] : mass) {
      const double left = 1.0 - m.first, room = 1.0 - m.second;
      backoff[n - 1][ctx] = left > 1e-12 && room > 1e-12 ? left / room : lower_weight(n + 1, ctx);
    }
  }

  // ARPA.
  arpa << "\\data\\\n";
  for (int n = 1; n <= N; ++n)
    arpa << "ngram " << n << "=" << kept[n - 1].size() << "\n";
  char number[32];
  for (int n = 1; n <= N; ++n) {
    arpa << "\n\\" << n << "-grams:\n";
    for (Key key : kept[n - 1]) {
      const double p = stored[n - 1][key];
      std::snprintf(number, sizeof number, "%.6f", p > 0 ? std::log10(p) : -99.0);
      arpa << number;
      for (int k = n; k >= 1; --k) {  // first token in the highest byte
        const int token = static_cast<int>((key >> (8 * (k - 1))) & 0xff) - 1;
        arpa << (k == n ? "\t" : " ") << token_text(token, chars);
      }
      if (auto b = backoff[n - 1].find(key); b != backoff[n - 1].end() && n < N) {
        std::snprintf(number, sizeof number, "%.6f", std::log10(b->second));
        arpa << "\t" << number;
      }
      arpa << "\n";
    }
    report.ngrams.push_back(kept[n - 1].size());
  }
  arpa << "\n\\end\\\n";
  return report;
}

}  // namespace ocrcore::lm
