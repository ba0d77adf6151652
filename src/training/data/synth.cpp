#include "training/data/synth.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "ocrcore/error.hpp"
#include "runtime/core/file_io.hpp"
#include "training/data/line_renderer.hpp"
#include "training/data/seeding.hpp"
#include "training/data/text_corpus.hpp"

namespace ocrcore::data {

void prepare_line_directory(const std::filesystem::path& out_dir) {
  std::error_code ec;
  const auto st = std::filesystem::status(out_dir, ec);
  if (std::filesystem::exists(st)) {
    if (!std::filesystem::is_directory(st))
      throw Error(out_dir.string() +
                  ": exists and is not a directory (lines are written into a directory)");
    return;
  }
  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw Error(out_dir.string() + ": cannot create the directory: " + ec.message());
}

void write_numbered_line(const std::filesystem::path& out_dir, std::int64_t index,
                         const Image& image, const std::string& text) {
  char name[32];
  std::snprintf(name, sizeof name, "%06lld", static_cast<long long>(index));
  save_png(out_dir / (std::string(name) + ".png"), image);
  write_file_atomic(out_dir / (std::string(name) + ".gt.txt"), text + "\n");
}

Image scale_to_height(const Image& im, int height) {
  if (im.height() == height) return im;
  const double f = static_cast<double>(height) / im.height();
  const int W = std::max(1, static_cast<int>(std::lround(im.width() * f)));
  Image out(W, height);
  // Each output pixel averages the source area it covers (exact box filter).
  const double sx = static_cast<double>(im.width()) / W,
               sy = static_cast<double>(im.height()) / height;
  for (int y = 0; y < height; ++y) {
    const double y0 = y * sy, y1 = (y + 1) * sy;
    for (int x = 0; x < W; ++x) {
      const double x0 = x * sx, x1 = (x + 1) * sx;
      double sum = 0, area = 0;
      for (int yy = static_cast<int>(y0);
           yy < std::min(im.height(), static_cast<int>(std::ceil(y1))); ++yy) {
        const double wy = std::min(y1, yy + 1.0) - std::max(y0, static_cast<double>(yy));
        for (int xx = static_cast<int>(x0);
             xx < std::min(im.width(), static_cast<int>(std::ceil(x1))); ++xx) {
          const double w = wy * (std::min(x1, xx + 1.0) - std::max(x0, static_cast<double>(xx)));
          sum += w * im.at(xx, yy);
          area += w;
        }
      }
      out.at(x, y) = static_cast<std::uint8_t>(std::lround(area > 0 ? sum / area : 255));
    }
  }
  return out;
}

namespace {

// Makes some digits superscripts or subscripts, as printed text has them:
// footnote marks and exponents after a word ("result12", "10^3" printed as
// 103 with the 3 raised), indices after a letter ("x1"). The ground truth keeps
// the characters as they are. `script` gets one entry per code point.
void mark_scripts(std::string& text, double superscript, double subscript,
                  std::vector<std::int8_t>& script, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  script.clear();
  if (superscript <= 0 && subscript <= 0) return;
  const bool sup = u(rng) < superscript, sub = !sup && u(rng) < subscript;
  if (!sup && !sub) return;
  // After the end of a random word (ASCII text: one byte per code point).
  std::vector<std::size_t> ends;
  for (std::size_t k = 0; k < text.size(); ++k)
    if (std::isalnum(static_cast<unsigned char>(text[k])) &&
        (k + 1 == text.size() || text[k + 1] == ' '))
      ends.push_back(k + 1);
  if (ends.empty()) return;
  const std::size_t at = ends[std::uniform_int_distribution<std::size_t>(0, ends.size() - 1)(rng)];
  const int digits = sup ? std::uniform_int_distribution<int>(1, 2)(rng) : 1;
  std::string mark;
  for (int d = 0; d < digits; ++d)
    mark += static_cast<char>('0' + std::uniform_int_distribution<int>(d ? 0 : 1, 9)(rng));
  text.insert(at, mark);
  script.assign(text.size(), 0);
  for (std::size_t k = at; k < at + mark.size(); ++k)
    script[k] = sup ? 1 : -1;
}

// Straight double quotes in `shown` become curly ones (an opening quote at
// the start or after a space or bracket, else a closing one); the returned
// transcription writes them as `` and ''. ASCII in, one code point per quote
// either way, so per-code-point styles stay aligned.
std::string typeset_quotes(std::string& shown) {
  std::string drawn, truth;
  for (std::size_t k = 0; k < shown.size(); ++k) {
    if (shown[k] != '"') {
      drawn += shown[k];
      truth += shown[k];
      continue;
    }
    const bool opening = k == 0 || std::strchr(" ([{", shown[k - 1]) != nullptr;
    drawn += opening ? "\u201C" : "\u201D";
    truth += opening ? "``" : "''";
  }
  shown = std::move(drawn);
  return truth;
}

// A writer's irregularity on a rendered line: elastic distortion at the scale
// of a letter (strokes bend, letters vary in shape), a slant from upright to
// strongly right-leaning, and a pen bolder or finer than the font's.
Image handwriting_variation(const Image& rendered, double em, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  Image im = elastic_warp(rendered, (0.02 + 0.03 * u(rng)) * em, (0.35 + 0.3 * u(rng)) * em, rng);
  im = affine_warp(im, 0.0, -0.35 + 0.45 * u(rng));
  const double pen = u(rng);
  if (pen < 0.25 && em > 20) im = morphology(im, true);
  if (pen > 0.85 && em > 36) im = morphology(im, false);
  return im;
}

bool has_ink(const Image& im) {
  const std::uint8_t* p = im.data();
  return im.height() >= 4 &&
         *std::min_element(p, p + static_cast<std::size_t>(im.width()) * im.height()) < 160;
}

std::string ascii_upper(std::string text) {
  for (char& c : text)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

SynthReport synthesize_lines(const SynthSettings& s, const std::filesystem::path& out_dir,
                             const std::function<void(std::int64_t)>& progress) {
  if (s.count < 0) throw Error("--count must not be negative");
  if (s.height != 0 && s.height < 8)
    throw Error("--height must be 0 (as rendered) or at least 8 pixels");
  if (s.min_chars < 1 || s.max_chars < s.min_chars) throw Error("bad line length range");
  const Codec codec(s.alphabet);
  const TextCorpus corpus(s.corpus, codec);
  std::vector<std::string> required(s.alphabet.begin() + 1, s.alphabet.end());
  SynthReport report;
  report.corpus_words = corpus.words();
  std::vector<std::size_t> monospaced_fonts, proportional_fonts;
  {
    LineRenderer probe(s.fonts, required);
    for (std::size_t f = 0; f < probe.font_count(); ++f) {
      report.fonts_used.push_back(probe.font_name(f));
      (probe.is_monospaced(f) ? monospaced_fonts : proportional_fonts).push_back(f);
    }
    report.fonts_excluded = probe.excluded();
  }
  prepare_line_directory(out_dir);
  std::atomic<std::int64_t> done{0};
  std::mutex error_mutex;
  std::string first_error;
  const int threads = std::max(1, s.threads);
#pragma omp parallel num_threads(threads)
  {
    LineRenderer renderer(s.fonts, required);  // FreeType state is per thread
    // Typeset quotes only where the face draws them unlike the straight one,
    // or the transcription would say what the image cannot show (Latin Modern
    // Mono draws all three alike). Per face, decided on first use.
    std::vector<signed char> curly_distinct(renderer.font_count(), -1);
    auto curly_quotes_distinct = [&](std::size_t font) {
      signed char& known = curly_distinct[font];
      if (known < 0)
        known = renderer.covers(font, "\u201C\u201D") &&
                !renderer.draws_alike(font, U'\u201C', U'"') &&
                !renderer.draws_alike(font, U'\u201D', U'"');
      return known == 1;
    };
#pragma omp for schedule(dynamic, 16)
    for (std::int64_t i = 0; i < s.count; ++i) {
      try {
        const std::int64_t index = s.first_index + i;
        std::mt19937_64 rng(mix_bits(mix_bits(s.seed) ^ static_cast<std::uint64_t>(index)));
        std::uniform_real_distribution<double> u(0, 1);
        // Words may carry characters the encoder mapped; re-encode to be exact.
        std::string text = corpus.random_line(s.min_chars, s.max_chars, rng, s.hyphenate);
        text = codec.decode(*codec.encode(text, UnknownCharacters::drop));
        std::size_t font;
        if (s.monospaced >= 0 && !monospaced_fonts.empty() && !proportional_fonts.empty()) {
          const auto& pool = u(rng) < s.monospaced ? monospaced_fonts : proportional_fonts;
          font = pool[static_cast<std::size_t>(u(rng) * static_cast<double>(pool.size())) %
                      pool.size()];
        } else {
          font = static_cast<std::size_t>(u(rng) * static_cast<double>(renderer.font_count())) %
                 renderer.font_count();
        }
        RenderStyle style;
        const bool native = s.height == 0;
        if (native) {
          // A body-text size scanned at a resolution in range: the em in pixels.
          const double dpi = s.dpi_min + (s.dpi_max - s.dpi_min) * u(rng);
          const double points = s.point_min + (s.point_max - s.point_min) * u(rng);
          style.pixel_size = points * dpi / 72.0;
          // Justified text: word spaces stretch, letters rarely do.
          style.letter_spacing = u(rng) < 0.1 ? (u(rng) - 0.4) * 0.05 * style.pixel_size : 0.0;
          style.word_spacing = 0.75 + 0.85 * u(rng) * u(rng);
          style.baseline_jitter = u(rng) < 0.15 ? 0.015 * style.pixel_size * u(rng) : 0.0;
          style.crop_to_ink = true;
          const auto pad = [&](double scale) {
            return s.min_margin + static_cast<int>(u(rng) * scale * style.pixel_size);
          };
          style.pad_left = pad(0.3);
          style.pad_right = pad(0.3);
          style.pad_top = pad(0.1);
          style.pad_bottom = pad(0.1);
        } else {
          style.pixel_size = s.height * (0.55 + 0.3 * u(rng));
          style.letter_spacing = u(rng) < 0.3 ? (u(rng) - 0.3) * 0.08 * style.pixel_size : 0.0;
          style.word_spacing = 0.8 + 0.6 * u(rng);
          style.baseline_jitter = u(rng) < 0.3 ? 0.02 * style.pixel_size * u(rng) : 0.0;
          const auto pad = [&](double scale) {
            return static_cast<int>(u(rng) * scale * style.pixel_size) + 1;
          };
          style.pad_left = pad(0.5);
          style.pad_right = pad(0.5);
          style.pad_top = pad(0.15);
          style.pad_bottom = pad(0.15);
        }
        // Features that are off draw no random numbers: old seeds give old lines.
        style.ligatures = s.ligatures > 0 && u(rng) < s.ligatures;
        mark_scripts(text, s.superscript, s.subscript, style.script, rng);
        std::string truth = text;
        if (s.typographic_quotes > 0 && u(rng) < s.typographic_quotes &&
            text.find('"') != std::string::npos && curly_quotes_distinct(font))
          truth = typeset_quotes(text);
        // What a reader sees: small capitals are capitals.
        if (renderer.is_small_caps(font)) truth = ascii_upper(truth);
        const bool handwritten = s.handwriting > 0 && u(rng) < s.handwriting;
        if (handwritten) {
          style.baseline_jitter = (0.02 + 0.04 * u(rng)) * style.pixel_size;
          style.spacing_jitter = (0.01 + 0.04 * u(rng)) * style.pixel_size;
        }
        // A faint face thinned and binarised can lose every stroke: a blank
        // image labelled with text teaches nothing true (and its crop, a
        // row high, normalises to a line tens of thousands of pixels wide).
        // Such a line is drawn again; lines with ink are as before.
        Image im;
        for (int attempt = 0;; ++attempt) {
          im = renderer.render(text, font, style, rng);
          if (handwritten) im = handwriting_variation(im, style.pixel_size, rng);
          if (s.binarized > 0 && u(rng) < s.binarized) {
            im = scan_binarized(im, rng);
          } else if (u(rng) < s.degrade) {
            im = augment(im, s.degradation, rng);
          }
          if (has_ink(im)) break;
          if (attempt == 8)
            throw Error("line " + std::to_string(index) + " in " + renderer.font_name(font) +
                        " came out blank 9 times");
        }
        // Dust on the drawn line (after the check for ink: specks alone are
        // not a line). Off, it draws no random numbers: old seeds give old lines.
        if (s.specks > 0 && u(rng) < s.specks) {
          const int count = std::uniform_int_distribution<int>(1, 4)(rng);
          const int darkest = *std::min_element(
              im.data(), im.data() + static_cast<std::size_t>(im.width()) * im.height());
          add_specks(im, count, 0.06 * style.pixel_size, darkest, rng);
        }
        if (!native) im = scale_to_height(im, s.height);
        write_numbered_line(out_dir, index, im, truth);
      } catch (const std::exception& e) {
        std::lock_guard lock(error_mutex);
        if (first_error.empty()) first_error = e.what();
      }
      const std::int64_t d = ++done;
      if (progress && omp_get_thread_num() == 0) progress(d);
    }
  }
  if (!first_error.empty()) throw Error("rendering failed: " + first_error);
  report.written = done.load();
  if (progress) progress(report.written);
  return report;
}

}  // namespace ocrcore::data
