#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ocrcore/architecture.hpp"
#include "ocrcore/image.hpp"
#include "ocrcore/tensor.hpp"
#include "training/train/activations.hpp"

namespace ocrcore::compress {

// The frozen teacher's outputs (CNN features or logits) per training line,
// so that a line seen again costs no teacher forward pass, which is most of
// a distillation step. Valid only while a line's input is the same every
// time it is drawn, that is without random augmentation.
//
// Lines are keyed by their normalised input (line_key), so the same line is
// found whatever its place in a dataset. Frames are stored as fp16 (relative
// error below 1e-3, far under what a student leaves). Two tiers:
//  - memory, up to a byte budget (lines past it are not kept there);
//  - optionally a directory, one file per line, written atomically: later
//    runs of the same teacher (a learning-rate sweep, other seeds, other
//    criteria, a resumed run) start with every target it holds. The
//    directory must belong to one teacher and one kind of target:
//    teacher_target_directory() names it.

// Rounds every value to the nearest fp16 value, as the cache stores them.
void round_to_fp16(train::Activations& a);

// A 64-bit hash of a normalised line (its size and pixels).
std::uint64_t line_key(const LineTensor& line);

// `root`/<hash of the teacher's architecture and tensors and of `target`>:
// where the outputs `target` names ("features", "logits") of this teacher
// are kept.
std::filesystem::path teacher_target_directory(const std::filesystem::path& root,
                                               const Architecture& teacher,
                                               const TensorMap& tensors, std::string_view target);

struct TeacherTargets {
  int frames = 0, features = 0;
  std::vector<_Float16> values;  // frames x features
  // Writes the frames into line `n` of `out` (a sequence batch already sized
  // to hold them); frames past them are left as they are.
  void copy_into(train::Activations& out, int n) const;
};

class TeacherTargetCache {
 public:
  explicit TeacherTargetCache(std::size_t budget_bytes, std::filesystem::path directory = {});

  // Keeps line `n` of `batch_targets` (frames [0, lengths[n])) under `key`:
  // in memory when the budget allows, and in the directory if there is one
  // (for a line find() did not find). A file that cannot be written is
  // counted (write_failures) and training goes on without it.
  void insert(std::uint64_t key, const train::Activations& batch_targets, int n);
  // The held targets of `key`: from memory, else from the directory (then
  // also kept in memory within the budget); nullptr when neither holds it.
  // An unreadable or malformed file counts as not held.
  std::shared_ptr<const TeacherTargets> find(std::uint64_t key);

  // Values per frame of the held lines (0 before the first insert or find).
  int features() const;
  std::size_t lines() const;  // in memory
  std::size_t bytes() const;  // in memory
  const std::filesystem::path& directory() const { return directory_; }
  // Lines served from memory, from the directory, and lines the teacher had
  // to run for; files written and files that could not be.
  std::int64_t memory_hits() const { return memory_hits_; }
  std::int64_t directory_hits() const { return directory_hits_; }
  std::int64_t hits() const { return memory_hits_ + directory_hits_; }
  std::int64_t misses() const { return misses_; }
  std::int64_t files_written() const { return files_written_; }
  std::int64_t write_failures() const { return write_failures_; }
  void count_miss() { ++misses_; }

 private:
  std::filesystem::path file_of(std::uint64_t key) const;
  void keep_in_memory(std::uint64_t key, std::shared_ptr<const TeacherTargets> t);
  void note_features(int features);

  std::size_t budget_, used_ = 0;
  std::filesystem::path directory_;
  int features_ = 0;
  std::unordered_map<std::uint64_t, std::shared_ptr<const TeacherTargets>> entries_;
  std::atomic<std::int64_t> memory_hits_{0}, directory_hits_{0}, misses_{0}, files_written_{0},
      write_failures_{0};
  mutable std::mutex mutex_;
};

}  // namespace ocrcore::compress
