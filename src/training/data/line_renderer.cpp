#include "training/data/line_renderer.hpp"

#include <ft2build.h>
#include FT_FREETYPE_H

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>

#include "ocrcore/error.hpp"
#include "ocrcore/metrics.hpp"

namespace ocrcore::data {

struct LineRenderer::Impl {
  FT_Library library = nullptr;
  std::vector<FT_Face> faces;
  std::vector<std::string> names;
  std::vector<bool> small_caps;  // per face, from its names (see is_small_caps)
  ~Impl() {
    for (FT_Face f : faces)
      FT_Done_Face(f);
    if (library) FT_Done_FreeType(library);
  }
};

namespace {

bool is_generic_glyph_name(const std::string& name) {
  // Subset and converted fonts name glyphs by number ("glyph12", "g12", "cid12").
  for (const char* prefix : {"glyph", "gid", "cid", "index", "g"}) {
    const std::size_t n = std::char_traits<char>::length(prefix);
    if (name.size() > n && name.compare(0, n, prefix) == 0 &&
        std::all_of(name.begin() + static_cast<std::ptrdiff_t>(n), name.end(),
                    [](unsigned char c) { return std::isdigit(c); }))
      return true;
  }
  return false;
}

// Symbol and dingbat faces (Standard Symbols, Dingbats) map the Latin letters'
// code points to Greek letters or ornaments, so a line rendered in them is not
// the text of its transcription. Their glyph names give them away: the glyph
// drawn for 'a' is "alpha" or "a60", not "a" (or "uni0061"). Returns the first
// such letter, or 0 when the names agree or the font has no glyph names.
char first_letter_drawn_as_other_glyph(FT_Face face, std::string& glyph_name) {
  if (!FT_HAS_GLYPH_NAMES(face)) return 0;
  int letters = 0, others = 0;
  char first = 0;
  std::string first_name;
  for (char c : std::string("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")) {
    const FT_UInt index = FT_Get_Char_Index(face, static_cast<unsigned char>(c));
    char buffer[64] = {};
    if (index == 0 || FT_Get_Glyph_Name(face, index, buffer, sizeof buffer) || !buffer[0]) continue;
    const std::string name(buffer);
    char hex[8];
    std::snprintf(hex, sizeof hex, "%04X", static_cast<unsigned>(c));
    const bool letter = name == std::string(1, c) || name.rfind(std::string(1, c) + ".", 0) == 0 ||
                        name == std::string("uni") + hex || name == std::string("u") + hex ||
                        is_generic_glyph_name(name);
    ++letters;
    if (!letter && ++others == 1) {
      first = c;
      first_name = name;
    }
  }
  // A majority, so that one oddly named glyph in a text face does not exclude it.
  if (letters == 0 || 2 * others <= letters) return 0;
  glyph_name = first_name;
  return first;
}

}  // namespace

std::vector<std::filesystem::path> find_fonts(const std::vector<std::string>& inputs) {
  std::vector<std::filesystem::path> out;
  auto is_font = [](const std::filesystem::path& p) {
    std::string e = p.extension().string();
    std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
    return e == ".ttf" || e == ".otf";
  };
  for (const std::string& in : inputs) {
    const std::filesystem::path p(in);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p))
        if (e.is_regular_file() && is_font(e.path())) out.push_back(e.path());
    } else if (std::filesystem::is_regular_file(p)) {
      out.push_back(p);
    } else {
      throw Error(in + ": no such font file or directory");
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

// The first code point (other than the space) the face has no glyph for, or 0.
char32_t first_missing_glyph(FT_Face face, std::u32string_view text) {
  for (char32_t cp : text)
    if (cp != U' ' && FT_Get_Char_Index(face, cp) == 0) return cp;
  return 0;
}

// A small-capitals face: its family or style name has the whole word "Caps",
// "SC" or "SmallCaps" ("Scala" is no small-caps face).
bool named_small_caps(FT_Face face) {
  for (const char* name : {face->family_name, face->style_name}) {
    if (!name) continue;
    std::string word;
    for (const char* c = name;; ++c) {
      if (*c && std::isalnum(static_cast<unsigned char>(*c))) {
        word += *c;
        continue;
      }
      if (word == "Caps" || word == "caps" || word == "SC" || word == "SmallCaps") return true;
      word.clear();
      if (!*c) break;
    }
  }
  return false;
}

// The first of `text`'s letters and digits whose glyph draws no ink at 32
// pixels, or 0. Some faces map Latin code points to empty glyphs (Seto's
// "ex" face: kanji only), which would give blank lines labelled with text.
char32_t first_blank_glyph(FT_Face face, std::u32string_view text) {
  if (FT_Set_Pixel_Sizes(face, 0, 32)) return 0;
  for (char32_t cp : text) {
    if (!(cp < 128 && std::isalnum(static_cast<int>(cp)))) continue;
    if (FT_Load_Char(face, cp, FT_LOAD_RENDER)) return cp;
    const FT_Bitmap& b = face->glyph->bitmap;
    bool ink = false;
    for (unsigned r = 0; r < b.rows && !ink; ++r)
      for (unsigned c = 0; c < b.width && !ink; ++c)
        ink = b.buffer[static_cast<std::ptrdiff_t>(r) * b.pitch + c] > 64;
    if (!ink) return cp;
  }
  return 0;
}

}  // namespace

LineRenderer::LineRenderer(const std::vector<std::filesystem::path>& fonts,
                           const std::vector<std::string>& required)
    : impl_(std::make_unique<Impl>()) {
  if (FT_Init_FreeType(&impl_->library)) throw Error("cannot initialise FreeType");
  std::u32string needed;
  for (const std::string& ch : required)
    needed += utf8_decode(ch);
  for (const auto& path : fonts) {
    FT_Face face = nullptr;
    if (FT_New_Face(impl_->library, path.c_str(), 0, &face))
      throw Error(path.string() + ": not a font FreeType can read");
    const char32_t missing_cp = first_missing_glyph(face, needed);
    const std::string missing = missing_cp ? utf8_encode(std::u32string(1, missing_cp)) : "";
    std::string glyph_name;
    const char symbol = first_letter_drawn_as_other_glyph(face, glyph_name);
    const char32_t blank =
        missing.empty() && !symbol && FT_IS_SCALABLE(face) ? first_blank_glyph(face, needed) : 0;
    if (!missing.empty() || !FT_IS_SCALABLE(face) || symbol || blank) {
      excluded_.push_back(
          path.filename().string() +
          (!missing.empty() ? " (no glyph for '" + missing + "')"
           : symbol         ? std::string(" (symbol font: '") + symbol + "' is drawn as glyph '" +
                          glyph_name + "')"
           : blank ? " (draws nothing for '" + utf8_encode(std::u32string(1, blank)) + "')"
                   : " (not scalable)"));
      FT_Done_Face(face);
      continue;
    }
    impl_->faces.push_back(face);
    impl_->names.push_back(path.filename().string());
    impl_->small_caps.push_back(named_small_caps(face));
  }
  if (impl_->faces.empty()) throw Error("no usable font (need glyphs for the whole alphabet)");
}

LineRenderer::~LineRenderer() = default;

std::size_t LineRenderer::font_count() const {
  return impl_->faces.size();
}
std::string LineRenderer::font_name(std::size_t font) const {
  return impl_->names.at(font);
}
bool LineRenderer::is_small_caps(std::size_t font) const {
  return impl_->small_caps.at(font);
}

bool LineRenderer::covers(std::size_t font, std::string_view utf8) const {
  return first_missing_glyph(impl_->faces.at(font), utf8_decode(std::string(utf8))) == 0;
}

namespace {

// A glyph's ink (grey >= 128) at `pixels` per em, cropped to its bounding box.
struct GlyphInk {
  int width = 0, height = 0;
  std::vector<bool> ink;  // row-major
};

GlyphInk glyph_ink(FT_Face face, char32_t cp, FT_UInt pixels, const std::string& font_name) {
  if (FT_Set_Pixel_Sizes(face, 0, pixels) || FT_Load_Char(face, cp, FT_LOAD_RENDER))
    throw Error("cannot draw U+" + std::to_string(static_cast<unsigned>(cp)) + " in " + font_name);
  const FT_Bitmap& b = face->glyph->bitmap;
  int x0 = static_cast<int>(b.width), y0 = static_cast<int>(b.rows), x1 = -1, y1 = -1;
  auto inked = [&](int x, int y) { return b.buffer[y * b.pitch + x] >= 128; };
  for (int y = 0; y < static_cast<int>(b.rows); ++y)
    for (int x = 0; x < static_cast<int>(b.width); ++x)
      if (inked(x, y)) {
        x0 = std::min(x0, x), x1 = std::max(x1, x);
        y0 = std::min(y0, y), y1 = std::max(y1, y);
      }
  GlyphInk g;
  if (x1 < 0) return g;
  g.width = x1 - x0 + 1;
  g.height = y1 - y0 + 1;
  g.ink.resize(static_cast<std::size_t>(g.width) * g.height);
  for (int y = 0; y < g.height; ++y)
    for (int x = 0; x < g.width; ++x)
      g.ink[static_cast<std::size_t>(y) * g.width + x] = inked(x0 + x, y0 + y);
  return g;
}

}  // namespace

bool LineRenderer::draws_alike(std::size_t font, char32_t a, char32_t b) const {
  FT_Face face = impl_->faces.at(font);
  const FT_UInt ga = FT_Get_Char_Index(face, a), gb = FT_Get_Char_Index(face, b);
  if (ga == 0 || gb == 0) throw Error(impl_->names[font] + ": no glyph to compare");
  if (ga == gb) return true;
  // Large enough that the shapes, not the pixel grid, decide.
  const FT_UInt pixels = 64;
  const GlyphInk x = glyph_ink(face, a, pixels, impl_->names[font]);
  const GlyphInk y = glyph_ink(face, b, pixels, impl_->names[font]);
  // Intersection over union of the two crops laid on each other top-left.
  long both = 0, either = 0;  // (at most 64 x 64 pixels each)
  for (int r = 0; r < std::max(x.height, y.height); ++r)
    for (int c = 0; c < std::max(x.width, y.width); ++c) {
      const bool in_x =
          r < x.height && c < x.width && x.ink[static_cast<std::size_t>(r) * x.width + c];
      const bool in_y =
          r < y.height && c < y.width && y.ink[static_cast<std::size_t>(r) * y.width + c];
      both += in_x && in_y;
      either += in_x || in_y;
    }
  return either > 0 && 100 * both >= 85 * either;
}

bool LineRenderer::is_monospaced(std::size_t font) const {
  return FT_IS_FIXED_WIDTH(impl_->faces.at(font));
}

Image LineRenderer::render(const std::string& text, std::size_t font, const RenderStyle& style,
                           std::mt19937_64& rng) const {
  FT_Face face = impl_->faces.at(font);
  const auto px = static_cast<FT_UInt>(std::max(4.0, std::round(style.pixel_size)));
  // Superscripts and subscripts: 65% of the size, raised by 35% or lowered by
  // 15% of the em.
  const auto script_px = static_cast<FT_UInt>(std::max(4.0, std::round(0.65 * style.pixel_size)));
  FT_UInt current_px = 0;
  auto set_size = [&](FT_UInt size) {
    if (size == current_px) return;
    if (FT_Set_Pixel_Sizes(face, 0, size)) throw Error("cannot size font " + impl_->names[font]);
    current_px = size;
  };
  set_size(px);
  const std::u32string cps = utf8_decode(text);
  const double ascender = static_cast<double>(face->size->metrics.ascender) / 64.0;
  const double descender = -static_cast<double>(face->size->metrics.descender) / 64.0;
  std::normal_distribution<double> jitter(0.0, style.baseline_jitter);
  std::normal_distribution<double> x_jitter(0.0, style.spacing_jitter);

  struct Placed {
    std::vector<std::uint8_t> bitmap;
    int w, h, x, y;  // top-left on the canvas relative to the pen origin line
  };
  std::vector<Placed> glyphs;
  double pen = 0;
  FT_UInt previous = 0;
  const bool kerning = FT_HAS_KERNING(face);
  int min_y = 0, max_y = 0;
  // The ligature glyph (U+FB00..U+FB04) for the letters at i, and how many it replaces.
  auto ligature = [&](std::size_t i) -> std::pair<FT_UInt, std::size_t> {
    if (!style.ligatures || cps[i] != U'f' || i + 1 >= cps.size()) return {0, 1};
    auto glyph = [&](char32_t cp) { return FT_Get_Char_Index(face, cp); };
    const char32_t b = cps[i + 1], c = i + 2 < cps.size() ? cps[i + 2] : 0;
    if (b == U'f' && c == U'i' && glyph(0xFB03)) return {glyph(0xFB03), 3};
    if (b == U'f' && c == U'l' && glyph(0xFB04)) return {glyph(0xFB04), 3};
    if (b == U'f' && glyph(0xFB00)) return {glyph(0xFB00), 2};
    if (b == U'i' && glyph(0xFB01)) return {glyph(0xFB01), 2};
    if (b == U'l' && glyph(0xFB02)) return {glyph(0xFB02), 2};
    return {0, 1};
  };
  for (std::size_t i = 0; i < cps.size();) {
    const char32_t cp = cps[i];
    const int script = i < style.script.size() ? style.script[i] : 0;
    set_size(script ? script_px : px);
    auto [index, consumed] = script ? std::pair<FT_UInt, std::size_t>{0, 1} : ligature(i);
    if (!index) index = FT_Get_Char_Index(face, cp);
    i += consumed;
    if (kerning && previous && index) {
      FT_Vector k;
      if (!FT_Get_Kerning(face, previous, index, FT_KERNING_DEFAULT, &k))
        pen += static_cast<double>(k.x) / 64.0;
    }
    previous = index;
    if (FT_Load_Glyph(face, index, FT_LOAD_DEFAULT) ||
        FT_Render_Glyph(face->glyph, FT_RENDER_MODE_NORMAL))
      throw Error("cannot render a glyph of font " + impl_->names[font]);
    const FT_GlyphSlot g = face->glyph;
    const double advance = static_cast<double>(g->advance.x) / 64.0;
    if (cp == U' ') {
      pen += advance * style.word_spacing;
      continue;
    }
    const double rise = script > 0 ? 0.35 * px : script < 0 ? -0.15 * px : 0.0;
    Placed p;
    p.w = static_cast<int>(g->bitmap.width);
    p.h = static_cast<int>(g->bitmap.rows);
    p.x = static_cast<int>(std::lround(pen + (style.spacing_jitter > 0 ? x_jitter(rng) : 0.0))) +
          g->bitmap_left;
    p.y = -g->bitmap_top - static_cast<int>(std::lround(rise)) +
          static_cast<int>(std::lround(style.baseline_jitter > 0 ? jitter(rng) : 0.0));
    p.bitmap.resize(static_cast<std::size_t>(p.w) * p.h);
    for (int r = 0; r < p.h; ++r)
      std::copy_n(g->bitmap.buffer + static_cast<std::ptrdiff_t>(r) * g->bitmap.pitch, p.w,
                  p.bitmap.data() + static_cast<std::size_t>(r) * p.w);
    min_y = std::min(min_y, p.y);
    max_y = std::max(max_y, p.y + p.h);
    glyphs.push_back(std::move(p));
    pen += advance + style.letter_spacing;
  }
  // The line box spans the font's ascender and descender (so every line of a
  // font has the same x-height position), widened for glyphs that overshoot.
  int top = std::min(min_y, -static_cast<int>(std::ceil(ascender)));
  int bottom = std::max(max_y, static_cast<int>(std::ceil(descender)));
  int min_x = 0, max_x = static_cast<int>(std::ceil(pen));
  if (style.crop_to_ink && !glyphs.empty()) {
    top = min_y;
    bottom = max_y;
    min_x = glyphs.front().x;
    max_x = glyphs.front().x + glyphs.front().w;
  }
  for (const Placed& p : glyphs) {
    min_x = std::min(min_x, p.x);
    max_x = std::max(max_x, p.x + p.w);
  }
  const int W = max_x - min_x + style.pad_left + style.pad_right;
  const int H = bottom - top + style.pad_top + style.pad_bottom;
  Image out(std::max(1, W), std::max(1, H), 255);
  for (const Placed& p : glyphs)
    for (int r = 0; r < p.h; ++r)
      for (int c = 0; c < p.w; ++c) {
        const int x = p.x - min_x + style.pad_left + c, y = p.y - top + style.pad_top + r;
        if (x < 0 || y < 0 || x >= out.width() || y >= out.height()) continue;
        const int ink = p.bitmap[static_cast<std::size_t>(r) * p.w + c];
        out.at(x, y) = static_cast<std::uint8_t>(std::min<int>(out.at(x, y), 255 - ink));
      }
  return out;
}

}  // namespace ocrcore::data
