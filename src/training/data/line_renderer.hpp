#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "ocrcore/image.hpp"

namespace ocrcore::data {

// How one line is typeset.
struct RenderStyle {
  double pixel_size = 32;      // font size (em height) in pixels
  double letter_spacing = 0;   // extra pixels after every glyph
  double word_spacing = 1.0;   // factor on the width of a space
  double baseline_jitter = 0;  // standard deviation of per-glyph vertical offsets, pixels
  double spacing_jitter = 0;   // standard deviation of per-glyph horizontal offsets, pixels
  int pad_left = 4, pad_right = 4, pad_top = 3, pad_bottom = 3;
  // true: the padding is around the ink's bounding box, as in tight crops of
  // scanned lines; false: around the font's ascender-descender line box.
  bool crop_to_ink = false;
  // Typographic ligatures (ff, fi, fl, ffi, ffl) where the font has them.
  bool ligatures = false;
  // Per code point of the text: 0 normal, 1 superscript, -1 subscript (smaller,
  // raised or lowered). Empty: all normal.
  std::vector<std::int8_t> script;
};

// Renders text lines with FreeType: grey anti-aliased glyphs, pair kerning,
// dark ink on white. One renderer per thread (FreeType faces are not
// thread-safe).
class LineRenderer {
 public:
  // Opens every font; fonts lacking a glyph for any of `required` (UTF-8
  // characters) and symbol fonts (whose Latin code points draw other glyphs)
  // are left out and listed in excluded(). Throws Error when no font remains
  // or a file cannot be opened.
  LineRenderer(const std::vector<std::filesystem::path>& fonts,
               const std::vector<std::string>& required);
  ~LineRenderer();
  LineRenderer(const LineRenderer&) = delete;
  LineRenderer& operator=(const LineRenderer&) = delete;

  std::size_t font_count() const;
  std::string font_name(std::size_t font) const;
  // Every glyph of the same advance (typewriter faces).
  bool is_monospaced(std::size_t font) const;
  // A small-capitals face (its family or style is named "Caps" or "SC", as
  // LM Roman Caps): it draws lowercase letters as smaller capitals.
  bool is_small_caps(std::size_t font) const;
  // Whether the face has a glyph for every character of `utf8`.
  bool covers(std::size_t font, std::string_view utf8) const;
  // Whether the face draws code points `a` and `b` as the same shape (their
  // inked bitmaps, cropped to the ink, overlap by at least 85%): Latin Modern
  // Mono draws the curly double quotes as the straight one, so a transcription
  // cannot tell them apart from the image. Both must be covered.
  bool draws_alike(std::size_t font, char32_t a, char32_t b) const;
  const std::vector<std::string>& excluded() const { return excluded_; }

  Image render(const std::string& text, std::size_t font, const RenderStyle& style,
               std::mt19937_64& rng) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> excluded_;
};

// Font files (.ttf, .otf) in the given files and directories (recursive), sorted.
std::vector<std::filesystem::path> find_fonts(const std::vector<std::string>& inputs);

}  // namespace ocrcore::data
