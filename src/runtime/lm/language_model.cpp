#include "ocrcore/language_model.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "ocrcore/error.hpp"
#include "ocrcore/metrics.hpp"
#include "runtime/core/file_io.hpp"

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

// One n-gram and its numbers side by side: a lookup touches one cache line.
// This is also the binary file's record (write_binary).
struct Slot {
  std::uint64_t key = 0;  // 0: empty
  Entry entry;
};
static_assert(sizeof(Slot) == 16);

// N-grams of one order by key (their token ids + 1, one byte each, last token
// lowest; never 0): open addressing, one probe sequence per lookup, as the
// decoder looks up several n-grams for every prefix it extends. The slots are
// its own (built from ARPA) or a view into a mapped binary file.
class Table {
 public:
  void reserve(std::size_t n);
  Entry& insert(std::uint64_t key);
  // Slots that outlive the table; `capacity` a power of two with at least
  // one empty slot (load_binary checks).
  void view(const Slot* slots, std::size_t capacity, std::size_t size);
  const Entry* find(std::uint64_t key) const;
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  const Slot* slots() const { return slots_; }

 private:
  std::size_t slot(std::uint64_t key) const;
  std::vector<Slot> owned_;
  const Slot* slots_ = nullptr;
  std::size_t capacity_ = 0, size_ = 0;
  int shift_ = 64;
};

int log2_of(std::size_t power_of_two) {
  int bits = 0;
  while ((std::size_t{1} << bits) < power_of_two)
    ++bits;
  return bits;
}

void Table::reserve(std::size_t n) {
  std::size_t capacity = 16;
  while (capacity < 2 * n + 2)
    capacity *= 2;
  owned_.assign(capacity, Slot{});
  slots_ = owned_.data();
  capacity_ = capacity;
  shift_ = 64 - log2_of(capacity);
  size_ = 0;
}

void Table::view(const Slot* slots, std::size_t capacity, std::size_t size) {
  owned_.clear();
  slots_ = slots;
  capacity_ = capacity;
  size_ = size;
  shift_ = 64 - log2_of(capacity);
}

std::size_t Table::slot(std::uint64_t key) const {
  return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
}

Entry& Table::insert(std::uint64_t key) {
  if (2 * (size_ + 1) > capacity_) {  // keep it at most half full
    std::vector<Slot> old = std::move(owned_);
    reserve(std::max<std::size_t>(size_ + 1, old.size()));
    for (const Slot& s : old)
      if (s.key) insert(s.key) = s.entry;
  }
  const std::size_t mask = capacity_ - 1;
  for (std::size_t i = slot(key);; i = (i + 1) & mask) {
    Slot& s = owned_[i];
    if (s.key == key) return s.entry;
    if (s.key == 0) {
      s.key = key;
      ++size_;
      return s.entry;
    }
  }
}

const Entry* Table::find(std::uint64_t key) const {
  if (capacity_ == 0) return nullptr;
  const std::size_t mask = capacity_ - 1;
  for (std::size_t i = slot(key);; i = (i + 1) & mask) {
    if (slots_[i].key == key) return &slots_[i].entry;
    if (slots_[i].key == 0) return nullptr;
  }
}

// The binary form (docs/language-model-format.md): little-endian, every part
// at a multiple of 8 bytes.
constexpr char kMagic[8] = {'O', 'C', 'R', 'C', 'L', 'M', '\0', '\1'};
constexpr std::uint32_t kBinaryVersion = 1;
struct BinaryHeader {
  char magic[8];
  std::uint32_t version;
  std::uint32_t order;
  std::uint32_t characters;  // tokens after <s>, </s>, <unk>
  float unknown_log_prob;
  std::uint64_t names_bytes;  // the characters' UTF-8, each after its length byte, padded to 8
};
static_assert(sizeof(BinaryHeader) == 32);
// Then per order: std::uint64_t capacity, size; then the names; then each
// order's capacity slots.

bool is_binary(const std::uint8_t* data, std::size_t size) {
  return size >= sizeof kMagic && std::memcmp(data, kMagic, sizeof kMagic) == 0;
}

// Entry values every loader accepts (the bounds keep every back-off sum finite).
std::string check_entry(const Entry& e) {
  auto text = [](float v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
  if (!std::isfinite(e.log_prob) || !std::isfinite(e.backoff)) return "a number is not finite";
  // A probability above 1 is not one.
  if (e.log_prob > 0 || e.log_prob < -1000)
    return "log10 probability " + text(e.log_prob) + " is outside [-1000, 0]";
  if (std::abs(e.backoff) > 1000)
    return "log10 back-off weight " + text(e.backoff) + " is outside [-1000, 1000]";
  return {};
}

}  // namespace

struct LanguageModel::Impl {
  std::vector<Table> ngrams;  // [n - 1]
  std::unordered_map<std::string, int> ids;
  std::vector<std::string> characters;
  int order = 0;
  float unknown_log_prob = -10.0f;
  std::unique_ptr<detail::MappedFile> file;  // a binary model's slots live here
};

namespace {

void add_character(LanguageModel::Impl& lm, const std::string& name) {
  lm.ids.emplace(name, static_cast<int>(lm.ids.size()));
  lm.characters.push_back(name);
}

std::unique_ptr<LanguageModel::Impl> load_arpa(const std::filesystem::path& path,
                                               std::string_view text);
std::unique_ptr<LanguageModel::Impl> load_binary(const std::filesystem::path& path,
                                                 std::unique_ptr<detail::MappedFile> file);

}  // namespace

LanguageModel::LanguageModel(std::unique_ptr<const Impl> impl) : impl_(std::move(impl)) {}
LanguageModel::~LanguageModel() = default;
int LanguageModel::order() const {
  return impl_->order;
}
const std::vector<std::string>& LanguageModel::characters() const {
  return impl_->characters;
}

std::shared_ptr<const LanguageModel> LanguageModel::load(const std::filesystem::path& path) {
  auto file = std::make_unique<detail::MappedFile>(path);
  std::unique_ptr<const Impl> impl;
  if (is_binary(file->data(), file->size())) {
    impl = load_binary(path, std::move(file));
  } else {
    // Lines as views into the mapped text: a shipped model has hundreds of
    // thousands of n-gram lines.
    impl = load_arpa(path,
                     std::string_view(reinterpret_cast<const char*>(file->data()), file->size()));
  }
  return std::shared_ptr<const LanguageModel>(new LanguageModel(std::move(impl)));
}

namespace {

std::unique_ptr<LanguageModel::Impl> load_arpa(const std::filesystem::path& path,
                                               std::string_view text) {
  using Impl = LanguageModel::Impl;
  constexpr int kBegin = LanguageModel::kBegin, kEnd = LanguageModel::kEnd,
                kUnknown = LanguageModel::kUnknown;
  auto lm = std::make_unique<Impl>();
  lm->ids = {{"<s>", kBegin}, {"</s>", kEnd}, {"<unk>", kUnknown}};
  std::array<int, 256> byte_id;  // ids of one-byte tokens (ASCII characters), -1 if none yet
  byte_id.fill(-1);
  std::size_t pos = 0, line_no = 0;
  std::string_view line;
  auto next_line = [&] {
    if (pos >= text.size()) return false;
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    ++line_no;
    return true;
  };
  auto fail = [&](const std::string& what) {
    throw Error(path.string() + ":" + std::to_string(line_no) + ": " + what, ErrorKind::bad_model);
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
  if (!in_data)
    throw Error(path.string() + ": not an ARPA language model (no \\data\\ line)",
                ErrorKind::bad_model);
  if (expected.empty() || expected.size() > kMaxOrder)
    throw Error(path.string() + ": order " + std::to_string(expected.size()) +
                    " is not supported (1 to " + std::to_string(kMaxOrder) + ")",
                ErrorKind::bad_model);
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
      add_character(*lm, name);
      it = lm->ids.find(name);
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
    if (const std::string bad = check_entry(e); !bad.empty()) fail(bad);
    lm->ngrams[n - 1].insert(key) = e;
  } while (next_line());
  if (!ended) throw Error(path.string() + ": truncated (no \\end\\ line)", ErrorKind::bad_model);
  for (int k = 0; k < lm->order; ++k)
    if (lm->ngrams[k].size() != expected[k])
      throw Error(path.string() + ": " + std::to_string(k + 1) + "-grams: the header says " +
                      std::to_string(expected[k]) + ", the file has " +
                      std::to_string(lm->ngrams[k].size()),
                  ErrorKind::bad_model);
  if (const Entry* unk = lm->ngrams[0].find(push(0, kUnknown)))
    lm->unknown_log_prob = unk->log_prob;
  return lm;
}

// Reads a value of type T at `offset`, which must lie inside the file.
template <class T>
T read_at(const detail::MappedFile& file, std::size_t offset) {
  T value;
  std::memcpy(&value, file.data() + offset, sizeof value);
  return value;
}

std::unique_ptr<LanguageModel::Impl> load_binary(const std::filesystem::path& path,
                                                 std::unique_ptr<detail::MappedFile> file) {
  auto fail = [&](const std::string& what) -> void {
    throw Error(path.string() + ": binary language model: " + what, ErrorKind::bad_model);
  };
  const std::size_t size = file->size();
  if (size < sizeof(BinaryHeader)) fail("truncated header");
  const auto header = read_at<BinaryHeader>(*file, 0);
  if (header.version != kBinaryVersion)
    fail("version " + std::to_string(header.version) + " (this build reads version " +
         std::to_string(kBinaryVersion) + ")");
  if (header.order < 1 || header.order > kMaxOrder)
    fail("order " + std::to_string(header.order) + " is not supported (1 to " +
         std::to_string(kMaxOrder) + ")");
  if (header.characters > kMaxTokens - 3)
    fail("more than " + std::to_string(kMaxTokens - 3) + " characters");
  if (const std::string bad = check_entry({header.unknown_log_prob, 0}); !bad.empty())
    fail("<unk>: " + bad);
  auto lm = std::make_unique<LanguageModel::Impl>();
  lm->order = static_cast<int>(header.order);
  lm->unknown_log_prob = header.unknown_log_prob;
  lm->ids = {{"<s>", LanguageModel::kBegin},
             {"</s>", LanguageModel::kEnd},
             {"<unk>", LanguageModel::kUnknown}};

  std::size_t offset = sizeof(BinaryHeader);
  const std::size_t tables_at = offset, names_at = offset + 16 * header.order;
  if (names_at > size || header.names_bytes > size - names_at || header.names_bytes % 8)
    fail("truncated character names");
  // Characters: a length byte, then that many bytes of one UTF-8 character.
  offset = names_at;
  const std::size_t names_end = names_at + header.names_bytes;
  for (std::uint32_t c = 0; c < header.characters; ++c) {
    if (offset >= names_end) fail("truncated character names");
    const std::size_t length = file->data()[offset++];
    if (length == 0 || length > names_end - offset) fail("a character name is cut off");
    const std::string name(reinterpret_cast<const char*>(file->data()) + offset, length);
    offset += length;
    bool one_character = false;
    try {
      one_character = utf8_decode(name, path.string()).size() == 1;
    } catch (const Error&) {
    }
    if (!one_character) fail("character " + std::to_string(c) + " is not one UTF-8 character");
    if (lm->ids.count(name)) fail("character '" + name + "' appears twice");
    add_character(*lm, name);
  }
  // Each order's table: a power-of-two capacity with an empty slot left
  // (lookups stop at one), keys of exactly n known tokens, numbers in range.
  offset = names_end;
  lm->ngrams.resize(header.order);
  const std::uint64_t tokens = 3 + header.characters;
  for (std::uint32_t k = 0; k < header.order; ++k) {
    const auto capacity = read_at<std::uint64_t>(*file, tables_at + 16 * k);
    const auto count = read_at<std::uint64_t>(*file, tables_at + 16 * k + 8);
    const std::string order_name = std::to_string(k + 1) + "-grams: ";
    if (capacity < 2 || (capacity & (capacity - 1)) || count >= capacity)
      fail(order_name + "capacity " + std::to_string(capacity) + " for " + std::to_string(count) +
           " n-grams");
    if (capacity > (size - offset) / sizeof(Slot)) fail(order_name + "truncated");
    const auto* slots = reinterpret_cast<const Slot*>(file->data() + offset);
    std::uint64_t filled = 0;
    for (std::uint64_t i = 0; i < capacity; ++i) {
      const Slot& s = slots[i];
      if (s.key == 0) continue;
      ++filled;
      std::uint64_t key = s.key;
      for (std::uint32_t t = 0; t <= k; ++t, key >>= 8)
        if ((key & 0xff) == 0 || (key & 0xff) > tokens)
          fail(order_name + "slot " + std::to_string(i) + " holds an unknown token");
      if (key != 0) fail(order_name + "slot " + std::to_string(i) + " holds too many tokens");
      if (const std::string bad = check_entry(s.entry); !bad.empty())
        fail(order_name + "slot " + std::to_string(i) + ": " + bad);
    }
    if (filled != count)
      fail(order_name + "the header says " + std::to_string(count) + ", the table holds " +
           std::to_string(filled));
    lm->ngrams[k].view(slots, capacity, count);
    offset += capacity * sizeof(Slot);
  }
  if (offset != size) fail(std::to_string(size - offset) + " bytes after the last table");
  lm->file = std::move(file);
  return lm;
}

}  // namespace

void LanguageModel::write_binary(const std::filesystem::path& path) const {
  BinaryHeader header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kBinaryVersion;
  header.order = static_cast<std::uint32_t>(impl_->order);
  header.characters = static_cast<std::uint32_t>(impl_->characters.size());
  header.unknown_log_prob = impl_->unknown_log_prob;
  std::string names;
  for (const std::string& c : impl_->characters) {
    names.push_back(static_cast<char>(c.size()));
    names += c;
  }
  names.resize((names.size() + 7) / 8 * 8, '\0');
  header.names_bytes = names.size();
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(&header), sizeof header);
    for (const Table& t : impl_->ngrams) {
      const std::uint64_t numbers[2] = {t.capacity(), t.size()};
      out.write(reinterpret_cast<const char*>(numbers), sizeof numbers);
    }
    out.write(names.data(), static_cast<std::streamsize>(names.size()));
    for (const Table& t : impl_->ngrams)
      out.write(reinterpret_cast<const char*>(t.slots()),
                static_cast<std::streamsize>(t.capacity() * sizeof(Slot)));
  });
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
