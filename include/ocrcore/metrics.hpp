#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ocrcore/export.hpp"

namespace ocrcore {

// Decodes UTF-8 to code points; throws Error (naming `source`) on invalid UTF-8.
OCRCORE_API std::u32string utf8_decode(std::string_view text, std::string_view source = "text");
OCRCORE_API std::string utf8_encode(std::u32string_view text);
OCRCORE_API bool is_valid_utf8(std::string_view text);

// Collapses whitespace runs to one space and trims both ends (DESIGN.md 5).
OCRCORE_API std::u32string normalize_whitespace(std::u32string_view text);

// Edit distance and reference length, summable over lines.
struct ErrorCount {
  std::size_t errors = 0;
  std::size_t reference_length = 0;
  ErrorCount& operator+=(const ErrorCount& o) {
    errors += o.errors;
    reference_length += o.reference_length;
    return *this;
  }
  double rate() const {
    return reference_length ? static_cast<double>(errors) / static_cast<double>(reference_length)
                            : (errors ? 1.0 : 0.0);
  }
};

// Levenshtein over code points / over words, after whitespace normalisation.
OCRCORE_API ErrorCount character_errors(std::string_view hypothesis, std::string_view reference);
OCRCORE_API ErrorCount word_errors(std::string_view hypothesis, std::string_view reference);

// Character and word errors of a set of lines, summed over the lines before
// dividing (DESIGN.md 5): every CER and WER ocrcore reports is one of these.
struct OCRCORE_API TextScore {
  ErrorCount chars, words;
  std::size_t lines = 0;
  // Lines that could not be read, scored as read empty (evaluate()).
  std::size_t unreadable = 0;

  // Scores one line; returns its character errors.
  ErrorCount add(std::string_view hypothesis, std::string_view reference);
  TextScore& operator+=(const TextScore& o);
  double cer() const { return chars.rate(); }
  double wer() const { return words.rate(); }
};

// One step of a minimal character alignment: a reference character read as
// another (substitution), read where there is none (insertion: reference
// empty), or not read (deletion: hypothesis empty). Matches are left out.
struct CharacterEdit {
  std::string reference;   // UTF-8, empty for an insertion
  std::string hypothesis;  // UTF-8, empty for a deletion
  bool operator==(const CharacterEdit&) const = default;
};
// The edits of a minimal alignment after whitespace normalisation, in reading
// order; their number is character_errors().errors. Among alignments of equal
// cost, substitutions are preferred to insertion-deletion pairs.
OCRCORE_API std::vector<CharacterEdit> character_edits(std::string_view hypothesis,
                                                       std::string_view reference);

}  // namespace ocrcore
