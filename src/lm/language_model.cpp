#include "ocrcore/language_model.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include "ocrcore/error.hpp"
#include "ocrcore/metrics.hpp"

namespace ocrcore {

namespace {

// Tokens fit in a byte of the n-gram key (id + 1, so 0 means "no token").
constexpr int kMaxTokens = 254;
constexpr int kMaxOrder = 8;

std::uint64_t push(std::uint64_t key, int token) {
  return (key << 8) | static_cast<std::uint64_t>(token + 1);
}

}  // namespace

std::shared_ptr<const LanguageModel> LanguageModel::load(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(path.string() + ": cannot open the language model");
  auto lm = std::shared_ptr<LanguageModel>(new LanguageModel());
  lm->ids_ = {{"<s>", kBegin}, {"</s>", kEnd}, {"<unk>", kUnknown}};
  std::string line;
  std::size_t line_no = 0;
  auto fail = [&](const std::string& what) {
    throw Error(path.string() + ":" + std::to_string(line_no) + ": " + what);
  };
  // Header: "\data\" then "ngram N=count" lines.
  std::vector<std::size_t> expected;
  bool in_data = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (line == "\\data\\") {
      in_data = true;
      continue;
    }
    if (!in_data) continue;
    if (line.rfind("ngram ", 0) == 0) {
      const auto eq = line.find('=');
      if (eq == std::string::npos) fail("malformed '" + line + "'");
      const int n = std::atoi(line.substr(6, eq - 6).c_str());
      if (n != static_cast<int>(expected.size()) + 1) fail("n-gram orders must be 1, 2, ...");
      expected.push_back(std::stoull(line.substr(eq + 1)));
      continue;
    }
    if (!line.empty() && line[0] == '\\') break;  // the first section starts
  }
  if (!in_data) throw Error(path.string() + ": not an ARPA language model (no \\data\\ line)");
  if (expected.empty() || expected.size() > kMaxOrder)
    throw Error(path.string() + ": order " + std::to_string(expected.size()) +
                " is not supported (1 to " + std::to_string(kMaxOrder) + ")");
  lm->order_ = static_cast<int>(expected.size());
  lm->ngrams_.resize(expected.size());
  // Sections "\N-grams:": log10 prob, N tokens, optional log10 back-off.
  int n = 0;
  do {
    if (line.empty()) continue;
    if (line == "\\end\\") break;
    if (line[0] == '\\') {
      n = std::atoi(line.c_str() + 1);
      if (n < 1 || n > lm->order_ || line.find("-grams:") == std::string::npos)
        fail("unexpected section '" + line + "'");
      continue;
    }
    std::istringstream fields(line);
    Entry e;
    if (!(fields >> e.log_prob)) fail("expected a log10 probability");
    std::uint64_t key = 0;
    for (int k = 0; k < n; ++k) {
      std::string token;
      if (!(fields >> token)) fail("expected " + std::to_string(n) + " tokens");
      if (token == "<space>") token = " ";
      auto it = lm->ids_.find(token);
      if (it == lm->ids_.end()) {
        if (n != 1) fail("token '" + token + "' is not among the 1-grams");
        if (utf8_decode(token, path.string()).size() != 1)
          fail("token '" + token + "' is not one character");
        if (lm->ids_.size() >= kMaxTokens)
          fail("more than " + std::to_string(kMaxTokens - 3) + " characters");
        it = lm->ids_.emplace(token, static_cast<int>(lm->ids_.size())).first;
        lm->characters_.push_back(token);
      }
      key = push(key, it->second);
    }
    float backoff = 0;
    if (fields >> backoff) e.backoff = backoff;
    if (!std::isfinite(e.log_prob) || !std::isfinite(e.backoff)) fail("a number is not finite");
    lm->ngrams_[n - 1][key] = e;
  } while (std::getline(in, line) && ++line_no);
  if (line != "\\end\\") throw Error(path.string() + ": truncated (no \\end\\ line)");
  for (int k = 0; k < lm->order_; ++k)
    if (lm->ngrams_[k].size() != expected[k])
      throw Error(path.string() + ": " + std::to_string(k + 1) + "-grams: the header says " +
                  std::to_string(expected[k]) + ", the file has " +
                  std::to_string(lm->ngrams_[k].size()));
  if (auto it = lm->ngrams_[0].find(push(0, kUnknown)); it != lm->ngrams_[0].end())
    lm->unknown_log_prob_ = it->second.log_prob;
  return lm;
}

std::size_t LanguageModel::ngram_count() const {
  std::size_t n = 0;
  for (const auto& m : ngrams_)
    n += m.size();
  return n;
}

int LanguageModel::token(const std::string& character) const {
  auto it = ids_.find(character);
  return it == ids_.end() || it->second < 3 ? kUnknown : it->second;
}

LanguageModel::State LanguageModel::begin_state() const {
  return push(0, kBegin);
}

float LanguageModel::score(State state, int token, State* next) const {
  // Contexts from the longest (order - 1 tokens) down to none: the first
  // n-gram found gives the probability, plus the back-offs of the longer
  // contexts that lacked it.
  const int max_context = order_ - 1;
  float backoff = 0;
  float result = unknown_log_prob_;
  for (int k = max_context; k >= 0; --k) {
    const std::uint64_t mask = k == 8 ? ~0ULL : ((1ULL << (8 * k)) - 1);
    const std::uint64_t context = state & mask;
    // A context shorter than k tokens (near the line start) was already tried.
    if (k > 0 && (context >> (8 * (k - 1))) == 0) continue;
    const auto& table = ngrams_[k];
    if (auto it = table.find(push(context, token)); it != table.end()) {
      result = it->second.log_prob + backoff;
      break;
    }
    if (k > 0) {
      if (auto c = ngrams_[k - 1].find(context); c != ngrams_[k - 1].end())
        backoff += c->second.backoff;
    } else {
      result = unknown_log_prob_ + backoff;
    }
  }
  if (next) {
    const std::uint64_t keep = max_context >= 8 ? ~0ULL : ((1ULL << (8 * max_context)) - 1);
    *next = push(state, token) & keep;
  }
  return result;
}

}  // namespace ocrcore
