#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocrcore::data {

// What to do with a character the alphabet lacks.
enum class UnknownCharacters {
  skip_line,  // drop the whole line (default: its label would be wrong)
  drop,       // drop the character, keep the line
  map,        // map typographic variants (curly quotes, dashes, ligatures, NBSP)
              // to their ASCII forms first, then skip lines still unencodable
};

UnknownCharacters parse_unknown_characters(const std::string& name);

// Text <-> class indices for an alphabet whose entry 0 is the CTC blank.
class Codec {
 public:
  explicit Codec(std::vector<std::string> alphabet);
  const std::vector<std::string>& alphabet() const { return alphabet_; }
  int classes() const { return static_cast<int>(alphabet_.size()); }

  // Labels for `text` (whitespace runs collapsed, ends trimmed, as the CER
  // is computed). nullopt when the line must be skipped; `unknown` receives
  // the characters that were not in the alphabet.
  std::optional<std::vector<int>> encode(std::string_view text, UnknownCharacters policy,
                                         std::vector<std::string>* unknown = nullptr) const;
  std::string decode(const std::vector<int>& labels) const;

 private:
  std::vector<std::string> alphabet_;
  std::map<std::string, int, std::less<>> index_;
};

// The printable-ASCII alphabet (space .. ~) after the blank.
std::vector<std::string> printable_ascii_alphabet();

// "ascii", or a UTF-8 file with one character per line (`<space>` for a
// space); the blank is added first. Throws Error naming the file.
std::vector<std::string> load_alphabet(const std::string& spec);

}  // namespace ocrcore::data
