#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "training/data/codec.hpp"

namespace ocrcore::data {

struct LabelledLine {
  std::filesystem::path image;
  std::string text;
  std::vector<int> labels;
  bool labelled = true;  // false: no transcription (teacher-guided training only)
};

// What reading a dataset skipped, for the user.
struct DatasetReport {
  std::size_t lines = 0;                 // usable lines
  std::size_t unlabelled = 0;            // of which without transcription
  std::size_t without_ground_truth = 0;  // images with no (readable) transcription
  std::size_t unencodable = 0;           // lines skipped for characters outside the alphabet
  std::size_t characters_dropped = 0;    // characters removed under the `drop` policy
  std::map<std::string, std::size_t> unknown_characters;  // character -> occurrences
  std::string example;                                    // one skipped line, "path: text"
  std::string summary() const;
};

// Reads line images with transcriptions from each input: a directory
// (recursively, NAME.gt.txt beside NAME.png) or a TSV file (`path<TAB>text`,
// paths relative to the TSV). Throws Error for a missing input or one that
// holds no usable line. With `allow_unlabelled`, images without a
// transcription are kept (labelled = false) instead of skipped.
std::vector<LabelledLine> read_dataset(const std::vector<std::string>& inputs, const Codec& codec,
                                       UnknownCharacters policy, DatasetReport* report,
                                       bool allow_unlabelled = false);

}  // namespace ocrcore::data
