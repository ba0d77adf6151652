#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "compress/decompose.hpp"
#include "compress/distill.hpp"
#include "compress/student.hpp"
#include "ocrcore/model.hpp"
#include "training/train/trainer.hpp"

namespace ocrcore::compress {

struct CompressSettings {
  std::shared_ptr<const Model> teacher;
  // The student: an architecture, or the teacher's CNN narrowed by a width
  // multiplier or per-convolution channel list (derive_student).
  std::optional<Architecture> student_architecture;
  double width_multiplier = 0.25;
  std::vector<int> student_channels;
  // Its sequence half and frame rate, when derived (derive_student).
  StudentShape student_shape;
  // Start a later stage from this student instead of the previous stage's.
  std::shared_ptr<const Model> student_model;

  std::vector<std::string> train_inputs, validation_inputs, eval_inputs;
  std::filesystem::path run_dir;
  std::set<std::string> stages = {"ts", "tucker", "finetune"};
  bool resume = false;

  DistillSettings ts;        // stage 1
  DistillSettings finetune;  // stage 3 (the loss is lstm-guided unless set)
  bool finetune_unfreeze_rnn = false;
  RankRule ranks;
  int hooi_iterations = 0;
  std::int64_t ts_iterations = 2000, finetune_iterations = 1000;
  // Batch size, learning-rate schedule, optimiser, threads, seed,
  // augmentation, validation and checkpoint cadence for the training stages.
  train::TrainerSettings training;
  // Memory for the teacher's outputs per training line when lines are not
  // augmented (0: none).
  std::size_t teacher_cache_bytes = std::size_t{4} << 30;
  // Where to keep them on disk too, for later runs of the same teacher (a
  // subdirectory per teacher and kind of output); empty: memory only.
  std::filesystem::path teacher_cache_dir;
  int latency_lines = 50;
  int latency_repeats = 5;
};

// One row of the report.
struct ModelSummary {
  std::string name;
  std::int64_t parameters = 0;
  std::int64_t bytes = 0;  // parameters as fp32
  double gflops = 0;       // per input_height x 512 line
  std::vector<std::pair<std::string, std::pair<double, double>>> errors;  // set -> (CER, WER)
  double latency_ms = 0;                        // per line, one thread, batch 1, median of repeats
  double footprint_reduction = 1, speedup = 1;  // against the teacher
};

struct CompressResult {
  std::vector<ModelSummary> models;  // teacher first, then each stage's model
  std::vector<LayerDecomposition> decomposition;
  std::filesystem::path final_model;
  bool finished = true;  // false when stopped early (resume later)
};

// Runs the requested stages; each stage's model is saved in the run
// directory (student-ts.ocrm, student-tucker.ocrm, student-finetune.ocrm) so
// a later run can continue from it, and report.json / report.md describe the
// teacher and every stage's model.
CompressResult run_compress(const CompressSettings& settings, const std::atomic<bool>& stop,
                            const std::function<void(const train::TrainerEvent&)>& report);

// Scores models on labelled line sets and times them (same lines, one thread).
std::vector<ModelSummary> summarize_models(
    const std::vector<std::pair<std::string, std::shared_ptr<const Model>>>& models,
    const std::vector<std::string>& eval_inputs, int latency_lines, int latency_repeats);

}  // namespace ocrcore::compress
