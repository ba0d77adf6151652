#include "ocrcore/language_model.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <string_view>
#include <unordered_map>

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

bool parse_float(std::string_view text, float& value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

struct Entry {
  float log_prob = 0;  // log10
  float backoff = 0;   // log10
};

// N-grams of one order by key (their token ids + 1, one byte each, last token
// lowest; never 0): open addressing, one probe sequence per lookup, as the
// decoder looks up several n-grams for every prefix it extends.
class Table {
 public:
  void reserve(std::size_t n);
  Entry& insert(std::uint64_t key);
  const Entry* find(std::uint64_t key) const;
  std::size_t size() const { return size_; }

 private:
  std::size_t slot(std::uint64_t key) const;
  std::vector<std::uint64_t> keys_;
  std::vector<Entry> entries_;
  std::size_t size_ = 0;
  int shift_ = 64;
};

void Table::reserve(std::size_t n) {
  std::size_t capacity = 16;
  int bits = 4;
  while (capacity < 2 * n + 2) {
    capacity *= 2;
    ++bits;
  }
  keys_.assign(capacity, 0);
  entries_.assign(capacity, Entry{});
  shift_ = 64 - bits;
  size_ = 0;
}

std::size_t Table::slot(std::uint64_t key) const {
  return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
}

Entry& Table::insert(std::uint64_t key) {
  if (2 * (size_ + 1) > keys_.size()) {  // keep it at most half full
    std::vector<std::uint64_t> keys = std::move(keys_);
    std::vector<Entry> entries = std::move(entries_);
    reserve(std::max<std::size_t>(size_ + 1, keys.size()));
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i]) insert(keys[i]) = entries[i];
  }
  const std::size_t mask = keys_.size() - 1;
  for (std::size_t i = slot(key);; i = (i + 1) & mask) {
    if (keys_[i] == key) return entries_[i];
    if (keys_[i] == 0) {
      keys_[i] = key;
      ++size_;
      return entries_[i];
    }
  }
}

const Entry* Table::find(std::uint64_t key) const {
  if (keys_.empty()) return nullptr;
  const std::size_t mask = keys_.size() - 1;
  for (std::size_t i = slot(key);; i = (i + 1) & mask) {
    if (keys_[i] == key) return &entries_[i];
    if (keys_[i] == 0) return nullptr;
  }
}

}  // namespace

struct LanguageModel::Impl {
  std::vector<Table> ngrams;  // [n - 1]
  std::unordered_map<std::string, int> ids;
  std::vector<std::string> characters;
  int order = 0;
  float unknown_log_prob = -10.0f;
};

LanguageModel::LanguageModel(std::unique_ptr<const Impl> impl) : impl_(std::move(impl)) {}
LanguageModel::~LanguageModel() = default;
int LanguageModel::order() const {
  return impl_->order;
}
const std::vector<std::string>& LanguageModel::characters() const {
  return impl_->characters;
}

std::shared_ptr<const LanguageModel> LanguageModel::load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open the language model");
  // The whole file at once, then lines as views into it: a shipped model has
  // hundreds of thousands of n-gram lines and is loaded at every start.
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto lm = std::make_unique<Impl>();
  lm->ids = {{"<s>", kBegin}, {"</s>", kEnd}, {"<unk>", kUnknown}};
  std::array<int, 256> byte_id;  // ids of one-byte tokens (ASCII characters), -1 if none yet
  byte_id.fill(-1);
  std::size_t pos = 0, line_no = 0;
  std::string_view line;
  auto next_line = [&] {
    if (pos >= text.size()) return false;
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    line = std::string_view(text).substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    ++line_no;
    return true;
  };
  auto fail = [&](const std::string& what) {
    throw Error(path.string() + ":" + std::to_string(line_no) + ": " + what);
  };
  // Header: "\data\" then "ngram N=count" lines.
  std::vector<std::size_t> expected;
  bool in_data = false;
  while (next_line()) {
    if (line == "\\data\\") {
      in_data = true;
      continue;
    }
    if (!in_data) continue;
    if (line.rfind("ngram ", 0) == 0) {
      const auto eq = line.find('=');
      std::size_t n = 0, count = 0;
      // Both numbers whole: "ngram 1=12x" is malformed, not 12.
      auto whole = [](const char* begin, const char* end, std::size_t& value) {
        const auto [ptr, ec] = std::from_chars(begin, end, value);
        return ec == std::errc() && ptr == end;
      };
      if (eq == std::string_view::npos || !whole(line.data() + 6, line.data() + eq, n) ||
          !whole(line.data() + eq + 1, line.data() + line.size(), count))
        fail("malformed '" + std::string(line) + "'");
      if (n != expected.size() + 1) fail("n-gram orders must be 1, 2, ...");
      expected.push_back(count);
      continue;
    }
    if (!line.empty() && line[0] == '\\') break;  // the first section starts
  }
  if (!in_data) throw Error(path.string() + ": not an ARPA language model (no \\data\\ line)");
  if (expected.empty() || expected.size() > kMaxOrder)
    throw Error(path.string() + ": order " + std::to_string(expected.size()) +
                " is not supported (1 to " + std::to_string(kMaxOrder) + ")");
  lm->order = static_cast<int>(expected.size());
  lm->ngrams.resize(expected.size());
  // The header's counts size the tables, but a header can claim anything: an
  // n-gram line takes at least 4 bytes ("-1\ta\n"), so no more than the rest
  // of the file can hold is reserved (the tables still grow if needed).
  const std::size_t most = (text.size() - std::min(pos, text.size())) / 4 + 1;
  for (std::size_t k = 0; k < expected.size(); ++k)
    lm->ngrams[k].reserve(std::min(expected[k], most));
  auto token_id = [&](std::string_view token, int n) {
    if (token.size() == 1 && byte_id[static_cast<unsigned char>(token[0])] >= 0)
      return byte_id[static_cast<unsigned char>(token[0])];
    std::string name(token == "<space>" ? std::string_view(" ") : token);
    auto it = lm->ids.find(name);
    if (it == lm->ids.end()) {
      if (n != 1) fail("token '" + name + "' is not among the 1-grams");
      if (utf8_decode(name, path.string()).size() != 1)
        fail("token '" + name + "' is not one character");
      if (lm->ids.size() >= kMaxTokens)
        fail("more than " + std::to_string(kMaxTokens - 3) + " characters");
      it = lm->ids.emplace(name, static_cast<int>(lm->ids.size())).first;
      lm->characters.push_back(name);
    }
    if (name.size() == 1 && it->second >= 3)
      byte_id[static_cast<unsigned char>(name[0])] = it->second;
    return it->second;
  };
  // Sections "\N-grams:": log10 prob, N tokens, optional log10 back-off.
  int n = 0;
  bool ended = false;
  std::array<std::string_view, kMaxOrder + 3> fields;
  do {
    if (line.empty()) continue;
    if (line == "\\end\\") {
      ended = true;
      break;
    }
    if (line[0] == '\\') {
      const auto [end, ec] = std::from_chars(line.data() + 1, line.data() + line.size(), n);
      if (ec != std::errc() || n < 1 || n > lm->order ||
          std::string_view(end, line.data() + line.size() - end) != "-grams:")
        fail("unexpected section '" + std::string(line) + "'");
      continue;
    }
    std::size_t count = 0, i = 0;
    while (i < line.size() && count < fields.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
        ++i;
      const std::size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t')
        ++i;
      if (i > start) fields[count++] = line.substr(start, i - start);
    }
    Entry e;
    if (count == 0 || !parse_float(fields[0], e.log_prob)) fail("expected a log10 probability");
    if (n == 0) fail("an n-gram before any section");
    if (count != static_cast<std::size_t>(n) + 1 && count != static_cast<std::size_t>(n) + 2)
      fail("expected " + std::to_string(n) + " tokens");
    std::uint64_t key = 0;
    for (int k = 0; k < n; ++k)
      key = push(key, token_id(fields[1 + k], n));
    if (count == static_cast<std::size_t>(n) + 2 && !parse_float(fields[n + 1], e.backoff))
      fail("expected a log10 back-off weight");
    if (!std::isfinite(e.log_prob) || !std::isfinite(e.backoff)) fail("a number is not finite");
    // A probability above 1 is not one; the bounds keep every back-off sum finite.
    if (e.log_prob > 0 || e.log_prob < -1000)
      fail("log10 probability " + std::string(fields[0]) + " is outside [-1000, 0]");
    if (std::abs(e.backoff) > 1000) fail("log10 back-off weight outside [-1000, 1000]");
    lm->ngrams[n - 1].insert(key) = e;
  } while (next_line());
  if (!ended) throw Error(path.string() + ": truncated (no \\end\\ line)");
  for (int k = 0; k < lm->order; ++k)
    if (lm->ngrams[k].size() != expected[k])
      throw Error(path.string() + ": " + std::to_string(k + 1) + "-grams: the header says " +
                  std::to_string(expected[k]) + ", the file has " +
                  std::to_string(lm->ngrams[k].size()));
  if (const Entry* unk = lm->ngrams[0].find(push(0, kUnknown)))
    lm->unknown_log_prob = unk->log_prob;
  return std::shared_ptr<const LanguageModel>(new LanguageModel(std::move(lm)));
}

std::size_t LanguageModel::ngram_count() const {
  std::size_t n = 0;
  for (const auto& m : impl_->ngrams)
    n += m.size();
  return n;
}

int LanguageModel::token(const std::string& character) const {
  auto it = impl_->ids.find(character);
  return it == impl_->ids.end() || it->second < 3 ? kUnknown : it->second;
}

LanguageModel::State LanguageModel::begin_state() const {
  return push(0, kBegin);
}

float LanguageModel::score(State state, int token, State* next) const {
  // Contexts from the longest (order - 1 tokens) down to none: the first
  // n-gram found gives the probability, plus the back-offs of the longer
  // contexts that lacked it.
  const int max_context = impl_->order - 1;
  float backoff = 0;
  float result = impl_->unknown_log_prob;
  for (int k = max_context; k >= 0; --k) {
    const std::uint64_t mask = k == 8 ? ~0ULL : ((1ULL << (8 * k)) - 1);
    const std::uint64_t context = state & mask;
    // A context shorter than k tokens (near the line start) was already tried.
    if (k > 0 && (context >> (8 * (k - 1))) == 0) continue;
    if (const Entry* e = impl_->ngrams[k].find(push(context, token))) {
      result = e->log_prob + backoff;
      break;
    }
    if (k > 0) {
      if (const Entry* c = impl_->ngrams[k - 1].find(context)) backoff += c->backoff;
    } else {
      result = impl_->unknown_log_prob + backoff;
    }
  }
  if (next) {
    const std::uint64_t keep = max_context >= 8 ? ~0ULL : ((1ULL << (8 * max_context)) - 1);
    *next = push(state, token) & keep;
  }
  return result;
}

}  // namespace ocrcore
