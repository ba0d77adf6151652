// ocr-infer: recognise text-line images with an ocrcore model and, where
// ground truth is known, score the result (CER / WER).

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "batch_process.hpp"
#include "default_model.hpp"
#include "ocrcore/ocrcore.hpp"
#include "progress.hpp"
#include "runtime/core/file_io.hpp"
#include "tool_main.hpp"
#include "tool_support/error_report.hpp"
#include "tool_support/line_sources.hpp"

namespace fs = std::filesystem;
using ocrcore::Error;

namespace {

constexpr int kExitOk = 0, kExitSomeFailed = 1, kExitUsage = 2;

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

struct Options {
  std::vector<std::string> inputs;
  std::string model;
  std::string gt_tsv;
  std::int64_t max_image_pixels = ocrcore::kDefaultMaxImagePixels;
  // The best batch size for the compact model's throughput in
  // benchmarks/results/runtime.md (two threads; on both sets, within 2% of the
  // best on rendered lines in the run before, where 8 was 9% behind on uw3).
  int batch_size = 0;  // 0: the thread count (set after parsing)
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string decoder = "greedy";
  int beam_width = 10;
  std::string backend = "onednn";
  std::string isa = "auto";
  // Defaults from the environment, so that scripts can force a path for
  // measurements without changing command lines.
  std::string conv = env_or("OCRCORE_CONV", "auto");
  std::string tucker = env_or("OCRCORE_TUCKER", "auto");
  std::string lstm_precision = env_or("OCRCORE_LSTM_PRECISION", "auto");
  std::string conv_precision = env_or("OCRCORE_CONV_PRECISION", "auto");
  std::string orientation = "auto";
  std::string format = "text";
  std::string output;
  bool quiet = false;
  bool info = false;
  std::string lm;  // ARPA character language model for the beam decoder
  float lm_weight = ocrcore::LanguageModelOptions{}.weight;
  float lm_bonus = ocrcore::LanguageModelOptions{}.bonus;
  float lm_prune = ocrcore::LanguageModelOptions{}.prune_log_prob;
  bool decoder_given = false;
  bool lm_weight_given = false, lm_bonus_given = false;
  int errors = 0;  // top confusions and worst lines to print
  std::string errors_json;
};

// --info: what the model is and what it costs.
void print_model_info(const ocrcore::Model& m) {
  const auto& a = m.architecture();
  std::printf("model: %s\n", m.source().c_str());
  std::printf("input height: %d, classes: %d (blank included), width stride: %d\n", a.input_height,
              m.num_classes(), a.width_stride());
  std::printf("layers: %zu, parameters: %lld (%.2f MB as fp32, batch norm folded)\n",
              a.layers.size(), static_cast<long long>(m.parameter_count()),
              double(m.parameter_count()) * 4 / 1e6);
  std::printf("FLOPs per %dx512 line: %.3f G\n", a.input_height, a.flops(512) * 1e-9);
  const ocrcore::Precision stored = m.stored_weights();
  std::printf("weights stored as: %s\n", stored == ocrcore::Precision::int8   ? "int8"
                                         : stored == ocrcore::Precision::bf16 ? "bf16"
                                                                              : "fp32");
  for (const auto& [key, value] : m.metadata())
    std::printf("%s: %s\n", key.c_str(), value.c_str());
}

// `char_errors` is set when the line has ground truth.
std::string format_line(const std::string& format, const ocrcore::LineSource& src,
                        const ocrcore::LineResult& r,
                        const std::optional<ocrcore::ErrorCount>& char_errors) {
  if (format == "text") return r.text + "\n";
  if (format == "tsv") {
    char conf[32];
    std::snprintf(conf, sizeof conf, "%.4f", r.confidence);
    return src.name() + "\t" + r.text + "\t" + conf + "\t" + std::to_string(r.rotation) + "\n";
  }
  nlohmann::json j = {{"path", src.name()},
                      {"text", r.text},
                      {"confidence", r.confidence},
                      {"rotation", r.rotation}};
  auto& chars = j["chars"] = nlohmann::json::array();
  for (const auto& c : r.chars)
    chars.push_back({{"text", c.text},
                     {"confidence", c.confidence},
                     {"frames", {c.frame_begin, c.frame_end}},
                     {"x", {c.x_begin, c.x_end}}});
  if (char_errors) {
    j["gt"] = *src.ground_truth;
    j["char_errors"] = char_errors->errors;
    j["gt_chars"] = char_errors->reference_length;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

int run(const Options& opt) {
  // Inputs and model first: problems here are usage errors (exit 2).
  std::vector<ocrcore::LineSource> sources;
  std::shared_ptr<const ocrcore::Model> model;
  ocrcore::RecognizerOptions ropt;
  try {
    auto images = ocrcore::expand_inputs(opt.inputs, std::cin);
    std::optional<fs::path> tsv;
    if (!opt.gt_tsv.empty()) tsv = opt.gt_tsv;
    sources = ocrcore::split_pages(ocrcore::attach_ground_truth(images, tsv), tsv);
    fs::path model_path = opt.model;
    if (model_path.empty()) {
      auto found = find_default_model();
      if (!found) throw Error("no --model given and no bundled default model found");
      model_path = *found;
    }
    model = ocrcore::Model::load(model_path);
    if (opt.info) {
      print_model_info(*model);
      return kExitOk;
    }
    if (sources.empty()) throw Error("no input images (give files, directories, @list or -)");
    ropt.decoder = opt.decoder == "beam" ? ocrcore::Decoder::beam : ocrcore::Decoder::greedy;
    if (!opt.lm.empty()) {
      // A language model is only used by the beam decoder: --lm selects it.
      if (opt.decoder_given && ropt.decoder != ocrcore::Decoder::beam)
        throw Error("--lm needs --decoder beam");
      ropt.decoder = ocrcore::Decoder::beam;
      ropt.language_model = ocrcore::LanguageModel::load(opt.lm);
      // What `ocr-lm tune` recorded in the model, unless given here.
      if (!opt.lm_weight_given || !opt.lm_bonus_given)
        ropt.language_model_options = ocrcore::tuned_language_model_options(*model);
      if (opt.lm_weight_given) ropt.language_model_options.weight = opt.lm_weight;
      if (opt.lm_bonus_given) ropt.language_model_options.bonus = opt.lm_bonus;
    }
    ropt.language_model_options.prune_log_prob = opt.lm_prune;
    ropt.beam_width = opt.beam_width;
    ropt.backend =
        opt.backend == "reference" ? ocrcore::Backend::reference : ocrcore::Backend::onednn;
    ropt.threads = opt.threads;
    ropt.isa = ocrcore::parse_isa(opt.isa);
    ocrcore::resolve_isa(ropt.isa);  // a path this CPU lacks is a usage error
    ropt.conv_algorithm = ocrcore::parse_conv_algorithm(opt.conv);
    ropt.tucker = ocrcore::parse_tucker_execution(opt.tucker);
    ropt.orientation = ocrcore::parse_orientation(opt.orientation);
    // auto: the library's default for this model (int8 where it runs on
    // VNNI; bf16 convolutions for a model stored in bf16).
    ropt.lstm_precision = opt.lstm_precision == "auto"
                              ? ocrcore::default_lstm_precision(*model, ropt.backend, ropt.isa)
                              : ocrcore::parse_precision(opt.lstm_precision);
    ropt.conv_precision = opt.conv_precision == "auto"
                              ? ocrcore::default_conv_precision(*model, ropt.backend, ropt.isa)
                              : ocrcore::parse_precision(opt.conv_precision);
  } catch (const Error& e) {
    std::cerr << "ocr-infer: " << e.what() << "\n";
    return kExitUsage;
  }

  // Results stream to standard output, a FIFO or a device as they come; a
  // file is written beside its (real) target and renamed over it at the end.
  // Opened before any work, so a path that cannot be written fails at once.
  std::optional<ocrcore::OutputFile> results;
  try {
    results.emplace(opt.output.empty() ? "-" : opt.output);
    // Killed runs' temporaries lie where the file is replaced: beside the
    // real target (a symlink's target may be elsewhere).
    if (results->kind() == ocrcore::OutputKind::replace_file)
      ocrcore::remove_stale_temporary_files(
          std::filesystem::absolute(results->target()).parent_path());
  } catch (const Error& e) {
    std::cerr << "ocr-infer: " << e.what() << "\n";
    return kExitSomeFailed;
  }
  const bool stream_results = results->kind() != ocrcore::OutputKind::replace_file;
  ocrcore::Recognizer recognizer(model, ropt);
  ocrcore::tools::Progress progress(sources.size(), "lines",
                                    !opt.quiet && sources.size() > std::size_t(opt.batch_size));
  std::size_t failed = 0, recognised = 0;
  ocrcore::TextScore score;
  const bool analyse = opt.errors > 0 || !opt.errors_json.empty();
  ocrcore::tools::ErrorReport error_report;
  const auto start = std::chrono::steady_clock::now();

  auto report = [&](const std::string& name, const std::string& what) {
    progress.finish();
    std::string msg = what;
    if (!msg.starts_with(name)) msg = name + ": " + msg;
    std::cerr << "ocr-infer: " << msg << "\n";
  };

  // The library reads the images a window of batches at a time, batches them
  // by width and reports each line's own failure, in input order.
  std::vector<ocrcore::ImageFile> paths;
  paths.reserve(sources.size());
  for (const auto& src : sources)
    paths.push_back({src.image, src.page});
  try {
    recognizer.recognize_files(
        paths,
        [&](std::size_t i, ocrcore::LineOutcome&& outcome) {
          const auto& src = sources[i];
          progress.update(i + 1);
          if (!outcome.result) {
            report(src.name(), outcome.error ? outcome.error->what() : "not recognised");
            ++failed;
            return;
          }
          const ocrcore::LineResult& result = *outcome.result;
          std::optional<ocrcore::ErrorCount> line_chars;
          if (!src.ground_truth_error.empty()) {
            report(src.name(), src.ground_truth_error);
            ++failed;
          } else if (src.ground_truth) {
            line_chars = score.add(result.text, *src.ground_truth);
            if (analyse) error_report.add(src.name(), result.text, *src.ground_truth);
          }
          results->write(format_line(opt.format, src, result, line_chars));
          if (stream_results) results->flush();
          ++recognised;
        },
        opt.batch_size, opt.max_image_pixels);
    progress.finish();
    results->commit();
  } catch (const Error& e) {
    // The results cannot be delivered: stop, say where and why.
    progress.finish();
    std::cerr << "ocr-infer: " << e.what() << "\n";
    return kExitSomeFailed;
  }

  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr,
               "ocr-infer: %zu lines, %zu recognised, %zu failed; %.2f s, %.2f ms/line, "
               "%.1f lines/s (%d threads, batch %d, %s backend)\n",
               sources.size(), recognised, failed, secs,
               recognised ? 1000.0 * secs / double(recognised) : 0.0,
               secs > 0 ? double(recognised) / secs : 0.0, opt.threads, opt.batch_size,
               opt.backend.c_str());
  if (score.lines)
    std::fprintf(stderr,
                 "ocr-infer: CER %.2f%% (%zu/%zu chars), WER %.2f%% (%zu/%zu words) on %zu "
                 "lines with ground truth\n",
                 100.0 * score.cer(), score.chars.errors, score.chars.reference_length,
                 100.0 * score.wer(), score.words.errors, score.words.reference_length,
                 score.lines);
  if (score.lines && opt.errors > 0) {
    const auto n = static_cast<std::size_t>(opt.errors);
    std::fprintf(stderr, "ocr-infer: %s", error_report.text(n, n).c_str());
  }
  if (!opt.errors_json.empty()) {
    // The whole report: every confusion and every line with errors.
    const std::size_t all = std::numeric_limits<std::size_t>::max();
    try {
      ocrcore::write_file_atomic(opt.errors_json, error_report.json(all, all));
    } catch (const Error& e) {
      std::cerr << "ocr-infer: " << e.what() << "\n";
      return kExitSomeFailed;
    }
  }
  return failed ? kExitSomeFailed : kExitOk;
}

}  // namespace

namespace {

int tool_main(int argc, char** argv) {
  ocrcore::tools::keep_freed_memory_for_reuse();
  CLI::App app{
      "Recognise text-line images with an ocrcore model (CNN-DBLSTM-CTC).\n"
      "Inputs: image files, directories (recursive), @list.txt, or - for paths on "
      "stdin.\nGround truth NAME.gt.txt beside NAME.png / NAME.bin.png is scored "
      "(CER, WER).",
      "ocr-infer"};
  Options opt;
  app.add_option("inputs", opt.inputs, "Images, directories, @list files or -");
  app.add_option("-m,--model", opt.model,
                 "Model file (default: $OCRCORE_MODEL or the bundled default model)");
  app.add_option("--gt", opt.gt_tsv, "Ground truth as TSV: path<TAB>text")
      ->check(CLI::ExistingFile);
  // One line per thread: with one thread batching only pads lines to a
  // common width, and with several each thread takes a line of its own
  // (whole program, one thread, 210 uw3-dev lines: 488 lines/s at batch 1
  // against 453 at 4; 2 threads, bench_runtime: batch 2 best on both sets).
  app.add_option("-b,--batch-size", opt.batch_size, "Lines per batch (default: the thread count)")
      ->check(CLI::Range(1, 4096));
  app.add_option("-t,--threads", opt.threads, "Threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--decoder", opt.decoder, "CTC decoder")
      ->capture_default_str()
      ->check(CLI::IsMember({"greedy", "beam"}));
  app.add_option(
      "--lm", opt.lm,
      "Character n-gram language model (ARPA, or binary from ocr-lm compile) for the beam "
      "decoder "
      "(selects it)");
  app.add_option("--lm-weight", opt.lm_weight,
                 "Weight of the language model's log-probability against the network's "
                 "(default: the model's lm_weight from ocr-lm tune, else this)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  app.add_option("--lm-bonus", opt.lm_bonus,
                 "Added per character (log units): offsets the language model's pull towards "
                 "short readings (default: the model's lm_bonus from ocr-lm tune, else this)")
      ->capture_default_str()
      ->check(CLI::Range(-20.0, 20.0));
  app.add_option("--lm-prune", opt.lm_prune,
                 "Beam decoder: characters whose log-posterior in a frame is below this are not "
                 "tried there (lower: slower, closer to the exact search)")
      ->capture_default_str()
      ->check(CLI::Range(-100.0, 0.0));
  app.add_option("--beam-width", opt.beam_width, "Beam width for --decoder beam")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--backend", opt.backend, "Inference backend")
      ->capture_default_str()
      ->check(CLI::IsMember({"onednn", "reference"}));
  app.add_option("--isa", opt.isa,
                 "Instruction set of ocrcore's own kernels (onednn backend); auto honours "
                 "OCRCORE_ISA")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "generic", "avx2", "avx512"}));
  app.add_option("--conv", opt.conv,
                 "How 3x3 convolutions run (onednn backend): auto chooses per layer, direct, or "
                 "winograd (faster on wide layers, weights 4x larger); default $OCRCORE_CONV, "
                 "else auto")
      ->capture_default_str();
  app.add_option("--tucker", opt.tucker,
                 "How Tucker layers run (onednn backend): auto chooses per layer, chain (three "
                 "convolutions) or composed (one); default $OCRCORE_TUCKER, else auto")
      ->capture_default_str();
  app.add_option("--lstm-precision", opt.lstm_precision,
                 "Arithmetic of the LSTMs (onednn backend): fp32, int8 (quantised weights, "
                 "inputs and state, AVX-512 VNNI; about 2x faster), or auto (int8 where the CPU "
                 "has VNNI and the kernel path is avx512, else fp32; fp32 for a model stored in "
                 "bf16); default $OCRCORE_LSTM_PRECISION, else auto")
      ->capture_default_str();
  app.add_option("--conv-precision", opt.conv_precision,
                 "Arithmetic of the convolutions after the first (onednn backend): fp32, int8 "
                 "(weights per channel, each line's input per layer, AVX-512 VNNI; about 2x "
                 "faster), bf16 (AVX-512 BF16; about 2x faster than fp32, half int8's speed, "
                 "closer to fp32), or auto (bf16 for a model stored in bf16 where the CPU has "
                 "it, else as for --lstm-precision); default $OCRCORE_CONV_PRECISION, else auto")
      ->capture_default_str();
  app.add_option("--orientation", opt.orientation,
                 "auto: a line the network doubts is also read turned (a quarter turn either way "
                 "when taller than wide, else a half turn) and read turned when the network is "
                 "sure of that (tsv and jsonl give the turn); upright: every line as given")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "upright"}));
  app.add_option("--format", opt.format,
                 "Output format: text (one line each), tsv (path, text, confidence, rotation in "
                 "degrees clockwise), jsonl")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "tsv", "jsonl"}));
  app.add_option("-o,--output", opt.output, "Write results to this file instead of stdout");
  app.add_option("--errors", opt.errors,
                 "With ground truth: print the N most frequent confusions and the N worst lines")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--errors-json", opt.errors_json,
                 "With ground truth: write every confusion and every line with errors as JSON");
  app.add_option("--max-image-pixels", opt.max_image_pixels,
                 "Images with more pixels are reported and skipped (bounds memory)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("-q,--quiet", opt.quiet, "No progress line");
  app.add_flag("--info", opt.info, "Print the model's size, cost and metadata, then exit");
  app.set_version_flag("--version", std::string("ocr-infer (ocrcore) ") + ocrcore::kVersion);
  try {
    app.parse(argc, argv);
    opt.decoder_given = app.count("--decoder") > 0;
    opt.lm_weight_given = app.count("--lm-weight") > 0;
    opt.lm_bonus_given = app.count("--lm-bonus") > 0;
    if (opt.batch_size == 0) opt.batch_size = opt.threads;
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  int code = kExitUsage;
  try {
    code = run(opt);
  } catch (const std::exception& e) {
    std::cerr << "ocr-infer: " << e.what() << "\n";
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  return ocrcore::tools::exit_without_teardown(
      ocrcore::tools::run_tool("ocr-infer", argc, argv, tool_main));
}
