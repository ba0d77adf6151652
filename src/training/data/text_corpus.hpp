#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "training/data/codec.hpp"

namespace ocrcore::data {

// Words from text files, kept when the alphabet can encode them (after
// mapping typographic variants), for composing random lines.
class TextCorpus {
 public:
  TextCorpus(const std::vector<std::filesystem::path>& files, const Codec& codec);
  std::size_t words() const { return words_.size(); }
  // A line of about `min_chars`..`max_chars` characters: a run of consecutive
  // corpus words (so the prose reads naturally), sometimes with numbers,
  // capitals or punctuation of the kinds printed documents have.
  // With probability `hyphenate` the last word is broken with a hyphen, as in
  // justified text.
  std::string random_line(int min_chars, int max_chars, std::mt19937_64& rng,
                          double hyphenate = 0.0) const;

 private:
  std::vector<std::string> words_;
};

}  // namespace ocrcore::data
