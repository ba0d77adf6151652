#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "training/data/augment.hpp"
#include "training/data/codec.hpp"

namespace ocrcore::data {

struct SynthSettings {
  std::vector<std::filesystem::path> corpus;
  std::vector<std::filesystem::path> fonts;
  std::vector<std::string> alphabet;  // blank first
  std::int64_t count = 1000;
  std::int64_t first_index = 1;  // files are numbered from here
  std::uint64_t seed = 1;
  // Height of every written image, pixels; 0 keeps the rendered resolution
  // (the em is then point size x `dpi` / 72 and crops are tight, as scans).
  int height = 48;
  int min_chars = 4, max_chars = 70;
  double degrade = 0.6;  // probability of applying the augmentations
  AugmentSettings degradation;
  // Native-resolution lines (height 0): scan resolution and body text sizes.
  double dpi_min = 200, dpi_max = 400;
  double point_min = 8, point_max = 12;
  // Native-resolution lines: paper around the ink, pixels, at least (the rest
  // of each margin random as before). A scanned line is cut from its page
  // with paper around it; a crop flush with the ink lets the degradations
  // (elastic warping, thinning) cut descenders and comma tails, so that a
  // comma labelled as one looks like a period.
  int min_margin = 0;
  // Fraction of lines with dust specks (1-4 round blobs up to 6% of the em
  // across, add_specks), after any degradation.
  double specks = 0.0;
  // Fraction of lines binarised as a scanner does (scan_binarized: blur,
  // threshold, Kanungo noise); the rest stay grey.
  double binarized = 0.0;
  // Fraction of lines in typewriter (monospaced) faces, whatever their share
  // of the fonts; negative: no preference.
  double monospaced = -1.0;
  // Typesetting of printed documents: ligatures, a broken last word,
  // superscript footnote marks and exponents, subscripts.
  double ligatures = 0.0, hyphenate = 0.0, superscript = 0.0, subscript = 0.0;
  // Fraction of lines whose straight double quotes are typeset as curly ones
  // (“ ”), transcribed as `` and '' (the UW-III and TeX convention), in faces
  // that have them. Lines in small-capitals faces are always transcribed as
  // the capitals they show.
  double typographic_quotes = 0.0;
  // Fraction of lines given the irregularity of handwriting (for faces that
  // imitate it): a per-line slant, per-glyph position jitter, elastic
  // distortion at the scale of a letter, bolder or finer strokes.
  double handwriting = 0.0;
  int threads = 1;
};

struct SynthReport {
  std::int64_t written = 0;
  std::vector<std::string> fonts_used;
  std::vector<std::string> fonts_excluded;
  std::size_t corpus_words = 0;
};

// Renders `count` lines into `out_dir` as NNNNNN.png + NNNNNN.gt.txt
// (atomically written). Line i depends only on (seed, i): the same seed gives
// the same files whatever the thread count. `progress(done)` is called from
// the calling thread.
SynthReport synthesize_lines(const SynthSettings& settings, const std::filesystem::path& out_dir,
                             const std::function<void(std::int64_t)>& progress = {});

// Makes `out_dir` (and its parents) for numbered lines, or accepts it when it
// is a directory already (a symlink to one is followed); anything else there
// (a file, a FIFO, a device) is refused with an error naming it, before any
// line is rendered.
void prepare_line_directory(const std::filesystem::path& out_dir);

// Writes one training line as NNNNNN.png + NNNNNN.gt.txt (the index, six
// digits at least), each file atomically: what every line generator writes.
void write_numbered_line(const std::filesystem::path& out_dir, std::int64_t index,
                         const Image& image, const std::string& text);

// Scales to exactly `height` rows, keeping the aspect ratio (area-averaging).
Image scale_to_height(const Image& image, int height);

}  // namespace ocrcore::data
