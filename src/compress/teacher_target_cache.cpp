#include "compress/teacher_target_cache.hpp"

#include <string>

#include "ocrcore/error.hpp"

namespace ocrcore::compress {

void round_to_fp16(train::Activations& a) {
  for (float& v : a.values)
    v = static_cast<float>(static_cast<_Float16>(v));
}

void TeacherTargetCache::insert(std::size_t key, const train::Activations& batch_targets, int n) {
  const int frames = batch_targets.lengths.at(static_cast<std::size_t>(n));
  const int features = batch_targets.features;
  const std::size_t size = static_cast<std::size_t>(frames) * features;
  std::lock_guard lock(mutex_);
  if (features_ != 0 && features != features_)
    throw Error("teacher target cache: outputs of " + std::to_string(features) +
                " values per frame after " + std::to_string(features_));
  if (entries_.count(key) || used_ + size * sizeof(_Float16) > budget_) return;
  features_ = features;
  Entry e;
  e.frames = frames;
  e.features = features;
  e.values.resize(size);
  for (int t = 0; t < frames; ++t) {
    const float* src = batch_targets.frame(t, n);
    for (int k = 0; k < features; ++k)
      e.values[static_cast<std::size_t>(t) * features + k] = static_cast<_Float16>(src[k]);
  }
  used_ += size * sizeof(_Float16);
  entries_.emplace(key, std::move(e));
}

int TeacherTargetCache::held_frames(std::size_t key) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  return it == entries_.end() ? -1 : it->second.frames;
}

void TeacherTargetCache::read(std::size_t key, train::Activations& out, int n) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) throw Error("teacher target cache: line not held");
  const Entry& e = it->second;
  if (e.features != out.features || e.frames > out.frames)
    throw Error("teacher target cache: held line does not fit the batch");
  for (int t = 0; t < e.frames; ++t) {
    float* dst = out.frame(t, n);
    for (int k = 0; k < e.features; ++k)
      dst[k] = static_cast<float>(e.values[static_cast<std::size_t>(t) * e.features + k]);
  }
}

int TeacherTargetCache::features() const {
  std::lock_guard lock(mutex_);
  return features_;
}

std::size_t TeacherTargetCache::lines() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::size_t TeacherTargetCache::bytes() const {
  std::lock_guard lock(mutex_);
  return used_;
}

}  // namespace ocrcore::compress
