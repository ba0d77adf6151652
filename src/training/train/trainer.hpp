#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ocrcore/architecture.hpp"
#include "ocrcore/image.hpp"
#include "ocrcore/tensor.hpp"
#include "training/data/augment.hpp"
#include "training/data/batch_loader.hpp"
#include "training/data/codec.hpp"
#include "training/distributed/collective.hpp"
#include "training/train/optimizer.hpp"

namespace ocrcore::train {

class Objective;

struct TrainerSettings {
  Architecture architecture;
  std::vector<std::string> alphabet;  // blank first
  Preprocessing preprocessing;
  std::optional<std::filesystem::path> init_model;  // start from these weights
  std::optional<TensorMap> init_tensors;            // or these (takes precedence)
  // What each step optimises; null: CTC on the ground truth. An objective
  // that needs no labels also trains on lines without transcriptions.
  std::shared_ptr<Objective> objective;
  std::vector<std::string> train_inputs, validation_inputs;
  std::filesystem::path run_dir;  // checkpoint.ckpt, best.ocrm, last.ocrm, log.jsonl
  bool resume = false;

  // The data-parallel job this trainer is one rank of (null: this process
  // alone). Every rank forms the same global batches of `batch_size` lines and
  // computes its share; one allreduce per step sums the gradients, batch
  // norm's statistics are the global batch's, and every rank takes the same
  // step, so a run gives the same model on any number of ranks. The root
  // alone reads the checkpoint and init model and writes the run directory.
  std::shared_ptr<Collective> team;
  // Every rank's parameter checksum is compared (and logged) at every
  // checkpoint and also every this many iterations (0: at checkpoints only);
  // ranks that differ stop the job.
  std::int64_t verify_replicas_every = 0;

  int batch_size = 16;  // the global batch (all ranks' lines of a step)
  // How batches of similar widths are formed (data::BatchWidths): a job of
  // several ranks plans them before loading (premeasured unless predicted is
  // asked for); a resumed run keeps its checkpoint's way when it runs alone.
  data::BatchWidths batch_widths = data::BatchWidths::measured;
  std::int64_t iterations = 10000;
  // Stop (with a checkpoint, as on SIGINT) on reaching this iteration; 0 = never.
  // For time-boxed sessions: the run continues later with --resume.
  std::int64_t stop_at = 0;
  std::int64_t validate_every = 1000;
  std::int64_t checkpoint_every = 250;
  std::int64_t log_every = 50;
  std::size_t max_validation_lines = 0;  // 0: all
  OptimizerSettings optimizer;
  LearningRateSchedule schedule;
  std::uint64_t seed = 1;
  int threads = 1;
  int loader_threads = 1;
  bool augment = true;
  data::AugmentSettings augmentation;
  data::UnknownCharacters unknown_characters = data::UnknownCharacters::skip_line;
  std::vector<std::string> freeze;
  std::map<std::string, std::string> model_metadata;  // added to written models
};

// What the trainer reports as it goes.
struct TrainerEvent {
  enum class Kind { message, progress, validation, checkpoint } kind = Kind::message;
  std::string message;
  std::int64_t iteration = 0, iterations = 0;
  double loss = 0, lines_per_second = 0, eta_seconds = 0, learning_rate = 0;
  double cer = 0, wer = 0;
  bool best = false;
};

// A 64-bit checksum of parameter values (bit patterns), for comparing the
// replicas of a data-parallel job.
std::uint64_t parameter_checksum(const std::vector<Parameter*>& params);

// Trains a network with CTC: batches from the loader, Adam/SGD steps,
// periodic validation through the runtime (the exported model, so what is
// measured is what ocr-infer will do), atomic checkpoints that a resumed run
// continues from exactly (same batches, same optimiser state), the best
// model by validation CER kept, JSON-lines log. Returns true when all
// iterations are done, false when it stopped early (`stop` set or the
// stop_at iteration reached) after writing a checkpoint.
class Trainer {
 public:
  explicit Trainer(TrainerSettings settings);
  bool run(const std::atomic<bool>& stop, const std::function<void(const TrainerEvent&)>& report);

 private:
  TrainerSettings s_;
};

}  // namespace ocrcore::train
