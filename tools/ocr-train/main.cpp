// ocr-train: trains a CNN-DBLSTM-CTC model from an architecture JSON on
// labelled line images, with validation, checkpoints and resumption.

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "data_parallel_options.hpp"
#include "ocrcore/error.hpp"
#include "runtime/core/file_io.hpp"
#include "tool_main.hpp"
#include "training/data/codec.hpp"
#include "training/distributed/collective.hpp"
#include "training/train/trainer.hpp"

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) {
  g_stop.store(true);
}

std::string format_duration(double s) {
  char buf[32];
  const long t = static_cast<long>(s);
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  return buf;
}

}  // namespace

namespace {

int tool_main(int argc, char** argv) {
  CLI::App app{"Train a CNN-DBLSTM-CTC text-line model."};
  ocrcore::train::TrainerSettings s;
  std::string arch_path, alphabet = "ascii", output, init_model, optimizer = "adam",
                         decay = "cosine", unknown = "skip";
  s.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool no_augment = false, quiet = false;
  app.add_option("--arch", arch_path, "Architecture JSON (models/arch/)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--alphabet", alphabet,
                 "'ascii' (printable ASCII) or a file with one character per line")
      ->capture_default_str();
  app.add_option("--train", s.train_inputs,
                 "Training data: directories (NAME.png + NAME.gt.txt) or .tsv lists")
      ->required();
  app.add_option("--val", s.validation_inputs, "Validation data (same forms)");
  app.add_option("--run-dir", s.run_dir, "Directory for checkpoint, best/last models and log.jsonl")
      ->required();
  app.add_option("-o,--output", output, "Also write the best model here when training ends");
  app.add_flag("--resume", s.resume, "Continue from the run directory's checkpoint");
  app.add_option("--init-model", init_model, "Start from this model's weights")
      ->check(CLI::ExistingFile);
  app.add_option("--iterations", s.iterations, "Training iterations (batches)")
      ->capture_default_str();
  app.add_option("--stop-at", s.stop_at,
                 "Stop with a checkpoint at this iteration (continue later with --resume)");
  app.add_option("-b,--batch-size", s.batch_size, "Lines per batch")->capture_default_str();
  app.add_option("--lr", s.schedule.base, "Peak learning rate")->capture_default_str();
  app.add_option("--warmup", s.schedule.warmup_steps, "Warm-up iterations")->capture_default_str();
  app.add_option("--decay", decay, "Learning-rate decay: cosine, step, constant")
      ->capture_default_str();
  app.add_option("--final-lr-ratio", s.schedule.final_ratio, "Final learning rate / peak")
      ->capture_default_str();
  app.add_option("--optimizer", optimizer, "adam, adamw, sgd")->capture_default_str();
  app.add_option("--weight-decay", s.optimizer.weight_decay, "L2 (adam, sgd) or decoupled (adamw)")
      ->capture_default_str();
  app.add_option("--momentum", s.optimizer.momentum, "SGD momentum")->capture_default_str();
  app.add_option("--clip", s.optimizer.clip_norm, "Gradient norm limit (0: off)")
      ->capture_default_str();
  app.add_option("--validate-every", s.validate_every, "Iterations between validations")
      ->capture_default_str();
  app.add_option("--checkpoint-every", s.checkpoint_every, "Iterations between checkpoints")
      ->capture_default_str();
  app.add_option("--log-every", s.log_every, "Iterations between progress lines")
      ->capture_default_str();
  app.add_option("--max-val-lines", s.max_validation_lines,
                 "Validate on at most this many lines (0: all)")
      ->capture_default_str();
  app.add_option("--seed", s.seed, "Random seed (initialisation, data order, augmentation)")
      ->capture_default_str();
  app.add_option("-t,--threads", s.threads, "Compute threads")->capture_default_str();
  app.add_option("--loader-threads", s.loader_threads, "Data loading threads")
      ->capture_default_str();
  app.add_flag("--no-augment", no_augment, "Train on the images as they are");
  std::string normalization = "center_text";
  app.add_option("--normalization", normalization,
                 "Line geometry the model learns and expects: center_text (text body "
                 "centred and sized, margins fixed) or scale_crop (whole image scaled)")
      ->check(CLI::IsMember({"center_text", "scale_crop"}))
      ->capture_default_str();
  app.add_option("--unknown-chars", unknown,
                 "Lines with characters outside the alphabet: skip, drop, map")
      ->capture_default_str();
  app.add_option("--freeze", s.freeze, "Parameter name prefixes to keep fixed (e.g. rnn. fc.)");
  ocrcore::tools::DataParallelOptions data_parallel;
  data_parallel.add_to(app, s);
  app.add_flag("-q,--quiet", quiet, "Only errors and the final summary");
  CLI11_PARSE(app, argc, argv);

  // Under mpirun, one rank of a data-parallel job (README: Training on several machines).
  std::shared_ptr<ocrcore::train::Collective> team;
  try {
    team = data_parallel.join("ocr-train", s);
    s.architecture = ocrcore::Architecture::load(arch_path);
    s.alphabet = ocrcore::data::load_alphabet(alphabet);
    s.preprocessing.height = s.architecture.input_height;
    s.preprocessing.normalization = normalization == "scale_crop"
                                        ? ocrcore::Preprocessing::Normalization::scale_crop
                                        : ocrcore::Preprocessing::Normalization::center_text;
    if (!init_model.empty()) s.init_model = init_model;
    s.optimizer.kind = ocrcore::train::parse_optimizer_kind(optimizer);
    s.schedule.decay = decay == "cosine" ? ocrcore::train::LearningRateSchedule::Decay::cosine
                       : decay == "step" ? ocrcore::train::LearningRateSchedule::Decay::step
                       : decay == "constant"
                           ? ocrcore::train::LearningRateSchedule::Decay::constant
                           : throw ocrcore::Error("--decay: cosine, step or constant");
    s.schedule.total_steps = s.iterations;
    s.augment = !no_augment;
    s.unknown_characters = ocrcore::data::parse_unknown_characters(unknown);
    s.model_metadata["training.architecture_file"] = fs::path(arch_path).filename().string();

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    ocrcore::train::Trainer trainer(s);
    const bool finished = trainer.run(g_stop, [&](const ocrcore::train::TrainerEvent& e) {
      using K = ocrcore::train::TrainerEvent::Kind;
      if (!team->is_root()) return;
      switch (e.kind) {
        case K::progress:
          if (!quiet)
            std::fprintf(stderr, "[%lld/%lld] loss %.4f  %.1f lines/s  lr %.2e  ETA %s\n",
                         static_cast<long long>(e.iteration), static_cast<long long>(e.iterations),
                         e.loss, e.lines_per_second, e.learning_rate,
                         format_duration(e.eta_seconds).c_str());
          break;
        case K::validation:
          std::fprintf(stderr, "[%lld/%lld] validation CER %.3f%%  WER %.3f%%%s\n",
                       static_cast<long long>(e.iteration), static_cast<long long>(e.iterations),
                       100 * e.cer, 100 * e.wer, e.best ? "  (best so far)" : "");
          break;
        case K::checkpoint:
          break;
        case K::message:
          if (!quiet) std::fprintf(stderr, "ocr-train: %s\n", e.message.c_str());
          break;
      }
    });
    if (!finished) return g_stop.load() ? 130 : 0;
    if (!team->is_root()) return 0;
    if (!output.empty())
      ocrcore::write_file_atomic(output, ocrcore::detail::read_text_file(s.run_dir / "best.ocrm"));
    std::fprintf(stderr, "ocr-train: done; best model %s\n",
                 (output.empty() ? (s.run_dir / "best.ocrm").string() : output).c_str());
    return 0;
  } catch (const std::exception& e) {
    return ocrcore::train::fail_job("ocr-train", e, team.get());
  }
}

}  // namespace

int main(int argc, char** argv) {
  return ocrcore::tools::run_tool("ocr-train", argc, argv, tool_main);
}
