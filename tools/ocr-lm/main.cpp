// ocr-lm: builds the character n-gram language model the beam decoder uses
// (ocr-infer --lm), in ARPA format.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <sstream>

#include "core/file_io.hpp"
#include "data/codec.hpp"
#include "io/line_sources.hpp"
#include "lm/ngram_builder.hpp"
#include "ocrcore/error.hpp"
#include "ocrcore/language_model.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "Build a character n-gram language model (ARPA) from text, for ocr-infer --lm.\n"
      "Text is cut into lines of --line-length characters at word boundaries, so that the "
      "model knows lines start and end anywhere in a sentence."};
  std::vector<std::string> corpus;
  std::string output, alphabet = "ascii", smoothing = "kneser-ney";
  ocrcore::lm::NgramSettings s;
  std::vector<int> line_length = {s.min_line, s.max_line};
  app.add_option("corpus", corpus, "Text files or directories")->required();
  app.add_option("-o,--output", output, "ARPA file to write")->required();
  app.add_option("--order", s.order, "Longest n-gram, characters")
      ->capture_default_str()
      ->check(CLI::Range(1, 8));
  app.add_option("--smoothing", smoothing, "kneser-ney (interpolated) or witten-bell")
      ->capture_default_str()
      ->check(CLI::IsMember({"kneser-ney", "witten-bell"}));
  app.add_option("--min-count", s.min_count,
                 "Leave out n-grams of order 3 and more seen fewer times (smaller file)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--alphabet", alphabet,
                 "Characters to model: 'ascii' (printable ASCII, as the bundled models), a file "
                 "with one character per line, or 'all' (every character seen); others are <unk>")
      ->capture_default_str();
  app.add_option("--line-length", line_length, "Shortest and longest line")
      ->expected(2)
      ->capture_default_str();
  app.add_option("--seed", s.seed, "Seed of the line cutting")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    s.min_line = line_length[0];
    s.max_line = line_length[1];
    s.smoothing = smoothing == "witten-bell" ? ocrcore::lm::Smoothing::witten_bell
                                             : ocrcore::lm::Smoothing::kneser_ney;
    if (alphabet != "all") {
      auto chars = ocrcore::data::load_alphabet(alphabet);
      s.characters.assign(chars.begin() + 1, chars.end());  // without the blank
    }
    const auto files = ocrcore::expand_text_inputs(corpus);
    ocrcore::lm::NgramReport report;
    ocrcore::write_file_atomic(output, [&](std::ostream& out) {
      report = ocrcore::lm::build_character_lm(files, s, out);
    });
    // What was written must load.
    auto lm = ocrcore::LanguageModel::load(output);
    std::fprintf(stderr, "ocr-lm: %zu files, %zu lines, %zu characters -> %s: order %d, ",
                 files.size(), report.lines, report.characters, output.c_str(), lm->order());
    for (std::size_t n = 0; n < report.ngrams.size(); ++n)
      std::fprintf(stderr, "%s%zu %zu-grams", n ? ", " : "", report.ngrams[n], n + 1);
    std::fprintf(stderr, "\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ocr-lm: %s\n", e.what());
    return 1;
  }
}
