#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "train/activations.hpp"

namespace ocrcore::compress {

// The frozen teacher's outputs (CNN features or logits) per training line,
// so that a line seen again in a later epoch costs no teacher forward pass,
// which is most of a distillation step. Valid only while a line's input is
// the same every time it is drawn, that is without random augmentation.
// Frames are stored as fp16 (relative error below 1e-3, far under what a
// student leaves); lines past the byte budget are not kept and are simply
// recomputed.
// Rounds every value to the nearest fp16 value, as the cache stores them.
void round_to_fp16(train::Activations& a);

class TeacherTargetCache {
 public:
  explicit TeacherTargetCache(std::size_t budget_bytes) : budget_(budget_bytes) {}

  // Copies line `n` of `batch_targets` (frames [0, lengths[n])) under `key`
  // when the budget allows.
  void insert(std::size_t key, const train::Activations& batch_targets, int n);
  // Frames held for `key`, or -1 when it is not held.
  int held_frames(std::size_t key) const;
  // Writes the held frames of `key` into line `n` of `out` (a sequence batch
  // already sized); frames past them are left as they are.
  void read(std::size_t key, train::Activations& out, int n) const;

  // Values per frame of the held lines (0 before the first insert).
  int features() const;
  std::size_t lines() const;
  std::size_t bytes() const;
  // Lines served from the cache and lines the teacher had to run for.
  std::int64_t hits() const { return hits_; }
  std::int64_t misses() const { return misses_; }
  void count(std::int64_t hits, std::int64_t misses) {
    hits_ += hits;
    misses_ += misses;
  }

 private:
  struct Entry {
    int frames = 0, features = 0;
    std::vector<_Float16> values;
  };
  std::size_t budget_, used_ = 0;
  int features_ = 0;
  std::unordered_map<std::size_t, Entry> entries_;
  std::atomic<std::int64_t> hits_{0}, misses_{0};
  mutable std::mutex mutex_;
};

}  // namespace ocrcore::compress
