#include "compress/teacher_target_cache.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "ocrcore/error.hpp"
#include "runtime/core/file_io.hpp"
#include "training/data/seeding.hpp"

namespace ocrcore::compress {
namespace {

// Hash of a byte range, 8 bytes at a time through splitmix64's finaliser.
std::uint64_t hash_bytes(const void* data, std::size_t size, std::uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i, 8);
    h = data::mix_bits(h ^ word);
  }
  std::uint64_t tail = size;  // the length too, so that trailing zeros count
  std::memcpy(&tail, p + i, size - i);
  return data::mix_bits(h ^ tail ^ (static_cast<std::uint64_t>(size) << 56));
}

// A cached line's file: magic, frames, features, checksum of the values,
// then frames x features fp16 values. Written to a temporary name and
// renamed, without flushing to disk: after a power cut a file may be
// incomplete, and the size and checksum tell.
constexpr char kMagic[8] = {'O', 'C', 'R', 'T', 'T', '0', '0', '1'};
struct FileHeader {
  char magic[8];
  std::uint32_t frames, features;
  std::uint64_t checksum;
};

std::uint64_t checksum(const std::vector<_Float16>& values) {
  return hash_bytes(values.data(), values.size() * sizeof(_Float16), 0x6f6372636f7265ULL);
}

}  // namespace

void round_to_fp16(train::Activations& a) {
  for (float& v : a.values)
    v = static_cast<float>(static_cast<_Float16>(v));
}

std::uint64_t line_key(const LineTensor& line) {
  const std::uint64_t size =
      (static_cast<std::uint64_t>(line.height) << 32) | static_cast<std::uint32_t>(line.width);
  return hash_bytes(line.pixels.data(), line.pixels.size() * sizeof(float), data::mix_bits(size));
}

std::filesystem::path teacher_target_directory(const std::filesystem::path& root,
                                               const Architecture& teacher,
                                               const TensorMap& tensors, std::string_view target) {
  std::uint64_t h = hash_bytes(target.data(), target.size(), 1);
  const std::string arch = teacher.to_json();
  h = hash_bytes(arch.data(), arch.size(), h);
  for (const auto& [name, t] : tensors) {  // a std::map: a fixed order
    h = hash_bytes(name.data(), name.size(), h);
    h = hash_bytes(t.shape.data(), t.shape.size() * sizeof(t.shape[0]), h);
    h = hash_bytes(t.data.data(), t.data.size() * sizeof(float), h);
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return root / (std::string(target) + "-" + hex);
}

void TeacherTargets::copy_into(train::Activations& out, int n) const {
  if (features != out.features || frames > out.frames)
    throw Error("teacher target cache: held line does not fit the batch");
  for (int t = 0; t < frames; ++t) {
    float* dst = out.frame(t, n);
    for (int k = 0; k < features; ++k)
      dst[k] = static_cast<float>(values[static_cast<std::size_t>(t) * features + k]);
  }
}

TeacherTargetCache::TeacherTargetCache(std::size_t budget_bytes, std::filesystem::path directory)
    : budget_(budget_bytes), directory_(std::move(directory)) {
  if (directory_.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(directory_, ec);
  if (ec)
    throw Error(directory_.string() + ": cannot create the teacher target cache: " + ec.message());
  remove_stale_temporary_files(directory_);
}

std::filesystem::path TeacherTargetCache::file_of(std::uint64_t key) const {
  char name[24];
  std::snprintf(name, sizeof name, "%016llx.f16", static_cast<unsigned long long>(key));
  return directory_ / name;
}

void TeacherTargetCache::note_features(int features) {
  if (features_ != 0 && features != features_)
    throw Error("teacher target cache: outputs of " + std::to_string(features) +
                " values per frame after " + std::to_string(features_));
  features_ = features;
}

void TeacherTargetCache::keep_in_memory(std::uint64_t key,
                                        std::shared_ptr<const TeacherTargets> t) {
  const std::size_t size = t->values.size() * sizeof(_Float16);
  if (entries_.count(key) || used_ + size > budget_) return;
  used_ += size;
  entries_.emplace(key, std::move(t));
}

void TeacherTargetCache::insert(std::uint64_t key, const train::Activations& batch_targets, int n) {
  auto t = std::make_shared<TeacherTargets>();
  t->frames = batch_targets.lengths.at(static_cast<std::size_t>(n));
  t->features = batch_targets.features;
  t->values.resize(static_cast<std::size_t>(t->frames) * t->features);
  for (int f = 0; f < t->frames; ++f) {
    const float* src = batch_targets.frame(f, n);
    for (int k = 0; k < t->features; ++k)
      t->values[static_cast<std::size_t>(f) * t->features + k] = static_cast<_Float16>(src[k]);
  }
  {
    std::lock_guard lock(mutex_);
    note_features(t->features);
    keep_in_memory(key, t);
  }
  if (directory_.empty()) return;
  // Called after find() missed: the file is absent or damaged; the rename
  // replaces it whole (a run writing the same line meanwhile writes the same
  // bytes).
  const auto path = file_of(key);
  std::error_code ec;
  static std::atomic<std::uint64_t> counter{0};
  auto tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  FileHeader h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.frames = static_cast<std::uint32_t>(t->frames);
  h.features = static_cast<std::uint32_t>(t->features);
  h.checksum = checksum(t->values);
  bool written = false;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    out.write(reinterpret_cast<const char*>(t->values.data()),
              static_cast<std::streamsize>(t->values.size() * sizeof(_Float16)));
    written = static_cast<bool>(out.flush());
  }
  if (written) std::filesystem::rename(tmp, path, ec);
  if (!written || ec) {
    std::filesystem::remove(tmp, ec);
    ++write_failures_;
    return;
  }
  ++files_written_;
}

std::shared_ptr<const TeacherTargets> TeacherTargetCache::find(std::uint64_t key) {
  {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(key);
    if (it != entries_.end()) {
      ++memory_hits_;
      return it->second;
    }
  }
  if (directory_.empty()) return nullptr;
  std::ifstream in(file_of(key), std::ios::binary);
  if (!in) return nullptr;
  FileHeader h{};
  if (!in.read(reinterpret_cast<char*>(&h), sizeof h) ||
      std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.features == 0 ||
      h.frames > (1u << 20) || h.features > (1u << 16))
    return nullptr;
  auto t = std::make_shared<TeacherTargets>();
  t->frames = static_cast<int>(h.frames);
  t->features = static_cast<int>(h.features);
  t->values.resize(static_cast<std::size_t>(h.frames) * h.features);
  if (!in.read(reinterpret_cast<char*>(t->values.data()),
               static_cast<std::streamsize>(t->values.size() * sizeof(_Float16))) ||
      in.peek() != std::ifstream::traits_type::eof() || checksum(t->values) != h.checksum)
    return nullptr;
  std::lock_guard lock(mutex_);
  if (features_ != 0 && t->features != features_) return nullptr;  // not this cache's kind
  features_ = t->features;
  keep_in_memory(key, t);
  ++directory_hits_;
  return t;
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
