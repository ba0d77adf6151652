#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace ocrcore::lm {

enum class Smoothing { kneser_ney, witten_bell };

struct NgramSettings {
  int order = 6;  // 1..8
  Smoothing smoothing = Smoothing::kneser_ney;
  // N-grams of order >= 3 seen fewer times than this are left out (back-off
  // weights renormalised): the file's size against its detail.
  int min_count = 2;
  // Text is cut into lines of this many characters (at word boundaries, at
  // random lengths, seeded), as OCR reads it: the model learns that a line may
  // start and end anywhere in a sentence.
  int min_line = 20, max_line = 80;
  std::uint64_t seed = 1;
  // Characters to keep; others become <unk>. Empty: every character seen.
  std::vector<std::string> characters;
};

struct NgramReport {
  std::size_t lines = 0, characters = 0;
  std::vector<std::size_t> ngrams;  // written per order
};

// Counts character n-grams of the text files (UTF-8; whitespace runs become
// one space) and writes a smoothed back-off model in ARPA format, which
// ocrcore::LanguageModel reads. Throws Error naming a file it cannot read.
NgramReport build_character_lm(const std::vector<std::filesystem::path>& corpus,
                               const NgramSettings& settings, std::ostream& arpa);

}  // namespace ocrcore::lm
