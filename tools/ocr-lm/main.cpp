// ocr-lm: builds the character n-gram language model the beam decoder uses
// (ocr-infer --lm), in ARPA format, and tunes its weight for a model
// (`ocr-lm tune`).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <sstream>

#include "ocrcore/ocrcore.hpp"
#include "progress.hpp"
#include "runtime/core/file_io.hpp"
#include "tool_main.hpp"
#include "tool_support/line_sources.hpp"
#include "training/data/codec.hpp"
#include "training/lm/ngram_builder.hpp"
#include "training/lm/weight_tuning.hpp"

namespace {

using ocrcore::Error;

struct TuneOptions {
  std::string model, lm, write_model, json;
  std::vector<std::string> inputs;
  ocrcore::lm::TuningGrid grid{{0.0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.7f, 1.0f},
                               {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f}};
  std::size_t max_lines = 1000;
  int batch_size = 8;
  bool quiet = false;
};

std::string format_number(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
  return buf;
}

// Runs the network once over the validation lines, then decodes them at every
// grid point; prints the table, and records the best point in a copy of the
// model (--write-model), which `ocr-infer --lm` then uses by default.
int tune(const TuneOptions& opt) {
  auto model = ocrcore::Model::load(opt.model);
  auto lm = ocrcore::LanguageModel::load(opt.lm);
  auto sources = ocrcore::attach_ground_truth(ocrcore::expand_inputs(opt.inputs, std::cin), {});
  std::vector<ocrcore::LineTensor> tensors;
  std::vector<std::string> truths;
  std::vector<std::filesystem::path> images;  // of each tensor, for messages
  std::size_t skipped = 0;
  for (const auto& src : sources) {
    if (tensors.size() == opt.max_lines) break;
    try {
      if (!src.ground_truth_error.empty()) throw Error(src.ground_truth_error);
      if (!src.ground_truth) throw Error("no ground truth beside it");
      auto image = ocrcore::load_image(src.image);
      tensors.push_back(ocrcore::normalize_line(image, model->preprocessing()));
      truths.push_back(*src.ground_truth);
      images.push_back(src.image);
    } catch (const Error& e) {
      std::string msg = e.what();
      if (!msg.starts_with(src.image.string())) msg = src.image.string() + ": " + msg;
      std::fprintf(stderr, "ocr-lm: skipped %s\n", msg.c_str());
      ++skipped;
    }
  }
  if (tensors.empty()) throw Error("no validation line with ground truth could be read");

  // Widest first, so that batches pad little; results go back to their line.
  std::vector<std::size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return tensors[a].width > tensors[b].width;
  });
  ocrcore::RecognizerOptions ropt;
  ropt.threads = opt.grid.threads;
  ocrcore::Recognizer recognizer(model, ropt);
  std::vector<std::optional<ocrcore::lm::TuningLine>> recognised(tensors.size());
  ocrcore::tools::Progress progress(tensors.size(), "lines", !opt.quiet);
  for (std::size_t b0 = 0; b0 < order.size(); b0 += std::size_t(opt.batch_size)) {
    const std::size_t b1 = std::min(order.size(), b0 + std::size_t(opt.batch_size));
    std::vector<ocrcore::LineTensor> batch;
    for (std::size_t k = b0; k < b1; ++k)
      batch.push_back(std::move(tensors[order[k]]));
    try {
      auto out = recognizer.forward(batch);
      for (std::size_t k = b0; k < b1; ++k)
        recognised[order[k]] = {std::move(out[k - b0]), std::move(truths[order[k]])};
    } catch (const Error& e) {  // the batch's lines are left out, the rest go on
      progress.finish();
      for (std::size_t k = b0; k < b1; ++k)
        std::fprintf(stderr, "ocr-lm: skipped %s: recognition failed: %s\n",
                     images[order[k]].string().c_str(), e.what());
      skipped += b1 - b0;
    }
    progress.update(b1);
  }
  progress.finish();
  std::vector<ocrcore::lm::TuningLine> lines;
  for (auto& line : recognised)
    if (line) lines.push_back(std::move(*line));
  if (lines.empty()) throw Error("no validation line could be recognised");

  const auto greedy = ocrcore::lm::evaluate_greedy(lines, model->alphabet(), opt.grid.threads);
  std::vector<ocrcore::lm::TuningPoint> points;
  ocrcore::tools::Progress grid_progress(opt.grid.weights.size(), "weights", !opt.quiet);
  for (std::size_t w = 0; w < opt.grid.weights.size(); ++w) {
    auto row = opt.grid;
    row.weights = {opt.grid.weights[w]};
    auto scored = ocrcore::lm::evaluate_weight_grid(lines, *lm, model->alphabet(), row);
    points.insert(points.end(), scored.begin(), scored.end());
    grid_progress.update(w + 1);
  }
  grid_progress.finish();
  const auto& best = ocrcore::lm::best_point(points);

  std::printf("%zu validation lines (%zu characters)%s; beam width %d\n", lines.size(),
              greedy.chars.reference_length,
              skipped ? (", " + std::to_string(skipped) + " skipped").c_str() : "",
              opt.grid.beam_width);
  std::printf("greedy, no language model: CER %.2f%%, WER %.2f%%\n", 100 * greedy.chars.rate(),
              100 * greedy.words.rate());
  std::printf("%8s %8s %8s %8s\n", "weight", "bonus", "CER %", "WER %");
  for (const auto& p : points)
    std::printf("%8g %8g %8.2f %8.2f%s\n", static_cast<double>(p.weight),
                static_cast<double>(p.bonus), 100 * p.chars.rate(), 100 * p.words.rate(),
                &p == &best ? "  <- best" : "");

  if (!opt.json.empty()) {
    auto point_json = [](const ocrcore::lm::TuningPoint& p) {
      return nlohmann::json{{"weight", p.weight},
                            {"bonus", p.bonus},
                            {"char_errors", p.chars.errors},
                            {"chars", p.chars.reference_length},
                            {"word_errors", p.words.errors},
                            {"words", p.words.reference_length}};
    };
    nlohmann::json j = {{"model", opt.model},           {"lm", opt.lm},
                        {"lines", lines.size()},        {"beam_width", opt.grid.beam_width},
                        {"greedy", point_json(greedy)}, {"best", point_json(best)}};
    auto& grid = j["grid"] = nlohmann::json::array();
    for (const auto& p : points)
      grid.push_back(point_json(p));
    ocrcore::write_file_atomic(opt.json, j.dump(1) + "\n");
  }
  if (!opt.write_model.empty()) {
    auto metadata = model->metadata();
    metadata[ocrcore::kMetadataLmWeight] = format_number(best.weight);
    metadata[ocrcore::kMetadataLmBonus] = format_number(best.bonus);
    metadata["lm_tuning"] = "ocr-lm tune on " + std::to_string(lines.size()) +
                            " validation lines with " +
                            std::filesystem::path(opt.lm).filename().string() + ": CER " +
                            format_number(float(100 * greedy.chars.rate())) + "% greedy, " +
                            format_number(float(100 * best.chars.rate())) + "% with it";
    ocrcore::save_model(opt.write_model, model->architecture(), model->alphabet(),
                        model->preprocessing(), model->tensors(), metadata);
    std::fprintf(stderr, "ocr-lm: wrote %s (lm_weight %s, lm_bonus %s)\n", opt.write_model.c_str(),
                 metadata[ocrcore::kMetadataLmWeight].c_str(),
                 metadata[ocrcore::kMetadataLmBonus].c_str());
  }
  return 0;
}

}  // namespace

namespace {

int tool_main(int argc, char** argv) {
  CLI::App app{
      "Build a character n-gram language model (ARPA) from text, for ocr-infer --lm, and "
      "compile it into the binary form that loads fast ('compile').\n"
      "Text is cut into lines of --line-length characters at word boundaries, so that the "
      "model knows lines start and end anywhere in a sentence."};
  std::vector<std::string> corpus;
  std::string output, alphabet = "ascii", smoothing = "kneser-ney";
  ocrcore::lm::NgramSettings s;
  std::vector<int> line_length = {s.min_line, s.max_line};
  app.add_option("corpus", corpus, "Text files or directories");
  app.add_option("-o,--output", output, "ARPA file to write");
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

  TuneOptions t;
  auto* tune_cmd = app.add_subcommand(
      "tune",
      "Choose the language model's weight and bonus for a model on validation lines with "
      "ground truth (never the test set): the network runs once, every grid point is decoded "
      "and scored, and --write-model records the best in a copy of the model, which "
      "ocr-infer --lm then uses unless --lm-weight/--lm-bonus are given.");
  tune_cmd
      ->add_option("inputs", t.inputs,
                   "Validation images, directories or @lists (NAME.gt.txt "
                   "beside each image)")
      ->required();
  tune_cmd->add_option("-m,--model", t.model, "Model file")->required()->check(CLI::ExistingFile);
  tune_cmd->add_option("--lm", t.lm, "Language model (ARPA or binary)")
      ->required()
      ->check(CLI::ExistingFile);
  tune_cmd->add_option("--weights", t.grid.weights, "Language-model weights to try")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  tune_cmd->add_option("--bonuses", t.grid.bonuses, "Per-character bonuses to try")
      ->capture_default_str()
      ->check(CLI::Range(-20.0, 20.0));
  tune_cmd->add_option("--beam-width", t.grid.beam_width, "Beam width")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  tune_cmd->add_option("--lm-prune", t.grid.prune_log_prob, "As ocr-infer --lm-prune")
      ->capture_default_str()
      ->check(CLI::Range(-100.0, 0.0));
  tune_cmd->add_option("--max-lines", t.max_lines, "Use the first N lines (0: all)")
      ->capture_default_str();
  tune_cmd->add_option("-b,--batch-size", t.batch_size, "Lines per network batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  tune_cmd->add_option("-t,--threads", t.grid.threads, "Threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  tune_cmd->add_option("--write-model", t.write_model,
                       "Write a copy of the model that records the best weight and bonus");
  tune_cmd->add_option("--json", t.json, "Write the whole grid as JSON");
  tune_cmd->add_flag("-q,--quiet", t.quiet, "No progress lines");
  std::string compile_input, compile_output;
  auto* compile_cmd = app.add_subcommand(
      "compile",
      "Write a language model (ARPA) in ocrcore's binary form, which loads in about a "
      "tenth of the time, mapped and checked instead of parsed (docs/language-model-format.md); "
      "ocr-infer --lm and the library read either form.");
  compile_cmd->add_option("input", compile_input, "ARPA (or binary) language model")
      ->required()
      ->check(CLI::ExistingFile);
  compile_cmd->add_option("-o,--output", compile_output, "Binary file to write")->required();
  CLI11_PARSE(app, argc, argv);
  if (*compile_cmd) {
    try {
      auto lm = ocrcore::LanguageModel::load(compile_input);
      lm->write_binary(compile_output);
      // What was written must load (a file can be read back; a FIFO or a
      // device cannot).
      if (std::filesystem::is_regular_file(compile_output))
        lm = ocrcore::LanguageModel::load(compile_output);
      std::fprintf(stderr, "ocr-lm compile: %s -> %s: order %d, %zu n-grams\n",
                   compile_input.c_str(), compile_output.c_str(), lm->order(), lm->ngram_count());
      return 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ocr-lm compile: %s\n", e.what());
      return 1;
    }
  }
  if (*tune_cmd) {
    if (t.max_lines == 0) t.max_lines = std::numeric_limits<std::size_t>::max();
    try {
      return tune(t);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ocr-lm tune: %s\n", e.what());
      return 1;
    }
  }
  if (corpus.empty() || output.empty()) {
    std::fprintf(stderr,
                 "ocr-lm: give a corpus and -o FILE to build a model, or 'tune' "
                 "(ocr-lm --help)\n");
    return 2;
  }
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
    // What was written must load (a file can be read back; a FIFO or a
    // device cannot).
    if (std::filesystem::is_regular_file(output)) ocrcore::LanguageModel::load(output);
    std::fprintf(stderr, "ocr-lm: %zu files, %zu lines, %zu characters -> %s: order %d, ",
                 files.size(), report.lines, report.characters, output.c_str(), s.order);
    for (std::size_t n = 0; n < report.ngrams.size(); ++n)
      std::fprintf(stderr, "%s%zu %zu-grams", n ? ", " : "", report.ngrams[n], n + 1);
    std::fprintf(stderr, "\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ocr-lm: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  return ocrcore::tools::run_tool("ocr-lm", argc, argv, tool_main);
}
