#include "training/data/codec.hpp"

#include <sstream>
#include <utility>

#include "ocrcore/error.hpp"
#include "ocrcore/metrics.hpp"
#include "runtime/core/file_io.hpp"

namespace ocrcore::data {

UnknownCharacters parse_unknown_characters(const std::string& name) {
  if (name == "skip") return UnknownCharacters::skip_line;
  if (name == "drop") return UnknownCharacters::drop;
  if (name == "map") return UnknownCharacters::map;
  throw Error("unknown-character policy '" + name + "' (skip, drop, map)");
}

std::vector<std::string> printable_ascii_alphabet() {
  std::vector<std::string> a = {""};
  for (char c = ' '; c <= '~'; ++c)
    a.emplace_back(1, c);
  return a;
}

std::vector<std::string> load_alphabet(const std::string& spec) {
  if (spec == "ascii") return printable_ascii_alphabet();
  std::istringstream in(detail::read_text_file(spec));
  std::vector<std::string> a = {""};
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) a.push_back(line == "<space>" ? " " : line);
  }
  if (a.size() < 2) throw Error(spec + ": the alphabet file lists no characters");
  return a;
}

Codec::Codec(std::vector<std::string> alphabet) : alphabet_(std::move(alphabet)) {
  if (alphabet_.size() < 2) throw Error("an alphabet needs the blank and at least one character");
  for (std::size_t i = 1; i < alphabet_.size(); ++i) {
    const std::string& ch = alphabet_[i];
    if (utf8_decode(ch).size() != 1)
      throw Error("alphabet entry " + std::to_string(i) + " is not one character");
    if (!index_.emplace(ch, static_cast<int>(i)).second)
      throw Error("alphabet has '" + ch + "' twice");
  }
}

namespace {

// Typographic characters with an ASCII equivalent.
const std::map<char32_t, std::string_view>& ascii_variants() {
  static const std::map<char32_t, std::string_view> m = {
      {U'\u00a0', " "},  {U'\u2018', "'"},   {U'\u2019', "'"},   {U'\u201a', ","},
      {U'\u201c', "\""}, {U'\u201d', "\""},  {U'\u201e', "\""},  {U'\u2010', "-"},
      {U'\u2011', "-"},  {U'\u2012', "-"},   {U'\u2013', "-"},   {U'\u2014', "--"},
      {U'\u2212', "-"},  {U'\u2026', "..."}, {U'\ufb00', "ff"},  {U'\ufb01', "fi"},
      {U'\ufb02', "fl"}, {U'\ufb03', "ffi"}, {U'\ufb04', "ffl"}, {U'\u00b4', "'"},
      {U'\u2032', "'"},  {U'\u2033', "\""},  {U'\u00d7', "x"},   {U'\u2022', "*"},
  };
  return m;
}

std::string utf8_of(char32_t cp) {
  return utf8_encode(std::u32string(1, cp));
}

}  // namespace

std::optional<std::vector<int>> Codec::encode(std::string_view text, UnknownCharacters policy,
                                              std::vector<std::string>* unknown) const {
  const std::u32string cps = normalize_whitespace(utf8_decode(text));
  std::vector<int> labels;
  labels.reserve(cps.size());
  bool missing = false;
  for (char32_t cp : cps) {
    const std::string ch = utf8_of(cp);
    if (auto it = index_.find(ch); it != index_.end()) {
      labels.push_back(it->second);
      continue;
    }
    if (policy == UnknownCharacters::map) {
      auto v = ascii_variants().find(cp);
      if (v != ascii_variants().end()) {
        bool ok = true;
        std::vector<int> mapped;
        for (char c : v->second) {
          auto it = index_.find(std::string(1, c));
          if (it == index_.end())
            ok = false;
          else
            mapped.push_back(it->second);
        }
        if (ok) {
          labels.insert(labels.end(), mapped.begin(), mapped.end());
          continue;
        }
      }
    }
    if (unknown) unknown->push_back(ch);
    missing = true;
  }
  if (missing && policy != UnknownCharacters::drop) return std::nullopt;
  return labels;
}

std::string Codec::decode(const std::vector<int>& labels) const {
  std::string out;
  for (int l : labels)
    if (l > 0 && l < classes()) out += alphabet_[l];
  return out;
}

}  // namespace ocrcore::data
