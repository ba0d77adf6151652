#include "ocrcore/metrics.hpp"

#include <algorithm>

#include "ocrcore/error.hpp"

namespace ocrcore {

namespace {

// Decodes one code point at `i`; returns false on malformed UTF-8 (overlong,
// surrogate, out of range, truncated).
bool decode_one(std::string_view s, std::size_t& i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int len = b0 < 0x80 ? 1 : (b0 >> 5) == 6 ? 2 : (b0 >> 4) == 14 ? 3 : (b0 >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) return false;
  cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1f) : len == 3 ? (b0 & 0x0f) : (b0 & 0x07);
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3f);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
  i += len;
  return true;
}

bool is_space(char32_t c) {
  return c == U' ' || (c >= U'\t' && c <= U'\r') || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
         c == 0x3000;
}

template <typename T>
std::size_t levenshtein(const std::vector<T>& a, const std::vector<T>& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    prev.swap(cur);
  }
  return prev[b.size()];
}

std::vector<std::u32string> words(const std::u32string& normalized) {
  std::vector<std::u32string> out;
  std::u32string cur;
  for (char32_t c : normalized) {
    if (c == U' ') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

std::u32string utf8_decode(std::string_view text, std::string_view source) {
  std::u32string out;
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    if (!decode_one(text, i, cp))
      throw Error(std::string(source) + ": invalid UTF-8 at byte " + std::to_string(i));
    out.push_back(cp);
  }
  return out;
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    if (!decode_one(text, i, cp)) return false;
  }
  return true;
}

std::string utf8_encode(std::u32string_view text) {
  std::string out;
  for (char32_t c : text) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xe0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

std::u32string normalize_whitespace(std::u32string_view text) {
  std::u32string out;
  bool pending_space = false;
  for (char32_t c : text) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(U' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

ErrorCount character_errors(std::string_view hypothesis, std::string_view reference) {
  auto h = normalize_whitespace(utf8_decode(hypothesis, "hypothesis"));
  auto r = normalize_whitespace(utf8_decode(reference, "reference"));
  std::vector<char32_t> hv(h.begin(), h.end()), rv(r.begin(), r.end());
  return {levenshtein(hv, rv), rv.size()};
}

ErrorCount word_errors(std::string_view hypothesis, std::string_view reference) {
  auto h = words(normalize_whitespace(utf8_decode(hypothesis, "hypothesis")));
  auto r = words(normalize_whitespace(utf8_decode(reference, "reference")));
  return {levenshtein(h, r), r.size()};
}

ErrorCount TextScore::add(std::string_view hypothesis, std::string_view reference) {
  const ErrorCount line = character_errors(hypothesis, reference);
  chars += line;
  words += word_errors(hypothesis, reference);
  ++lines;
  return line;
}

TextScore& TextScore::operator+=(const TextScore& o) {
  chars += o.chars;
  words += o.words;
  lines += o.lines;
  unreadable += o.unreadable;
  return *this;
}

std::vector<CharacterEdit> character_edits(std::string_view hypothesis,
                                           std::string_view reference) {
  const auto h = normalize_whitespace(utf8_decode(hypothesis, "hypothesis"));
  const auto r = normalize_whitespace(utf8_decode(reference, "reference"));
  const std::size_t n = r.size(), m = h.size();
  // d[i][j]: distance between r[0, i) and h[0, j).
  std::vector<std::size_t> d((n + 1) * (m + 1));
  auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
  for (std::size_t i = 0; i <= n; ++i)
    at(i, 0) = i;
  for (std::size_t j = 0; j <= m; ++j)
    at(0, j) = j;
  for (std::size_t i = 1; i <= n; ++i)
    for (std::size_t j = 1; j <= m; ++j)
      at(i, j) =
          std::min({at(i - 1, j - 1) + (r[i - 1] != h[j - 1]), at(i - 1, j) + 1, at(i, j - 1) + 1});
  std::vector<CharacterEdit> edits;
  std::size_t i = n, j = m;
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0 && at(i, j) == at(i - 1, j - 1) + (r[i - 1] != h[j - 1])) {
      if (r[i - 1] != h[j - 1])
        edits.push_back({utf8_encode(r.substr(i - 1, 1)), utf8_encode(h.substr(j - 1, 1))});
      --i;
      --j;
    } else if (i > 0 && at(i, j) == at(i - 1, j) + 1) {
      edits.push_back({utf8_encode(r.substr(i - 1, 1)), ""});
      --i;
    } else {
      edits.push_back({"", utf8_encode(h.substr(j - 1, 1))});
      --j;
    }
  }
  std::reverse(edits.begin(), edits.end());
  return edits;
}

}  // namespace ocrcore
