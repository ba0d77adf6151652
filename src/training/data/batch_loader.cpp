#include "training/data/batch_loader.hpp"

#include <algorithm>
#include <numeric>
#include <optional>
#include <random>

#include "ocrcore/error.hpp"
#include "runtime/ctc/ctc_math.hpp"
#include "training/data/seeding.hpp"

namespace ocrcore::data {

LineTensor prepare_line(const std::filesystem::path& image, const Preprocessing& preprocessing,
                        const AugmentSettings* augmentation, std::uint64_t seed) {
  Image im = load_image(image);
  if (augmentation) {
    std::mt19937_64 rng(seed);
    im = augment(im, *augmentation, rng);
  }
  try {
    return normalize_line(im, preprocessing);
  } catch (const Error& e) {
    throw Error(image.string() + ": " + e.what());
  }
}

BatchLoader::BatchLoader(std::vector<LabelledLine> lines, LoaderSettings settings,
                         LoaderPosition start)
    : lines_(std::move(lines)), s_(std::move(settings)) {
  if (lines_.empty()) throw Error("no lines to load");
  if (s_.batch_size < 1) throw Error("batch size must be at least 1");
  s_.pool_batches = std::max(1, s_.pool_batches);
  consuming_ = next_to_build_ = {start.epoch,
                                 std::clamp<std::int64_t>(start.pool, 0, pools_per_epoch() - 1)};
  batch_in_pool_ = start.batch;
  for (int i = 0; i < std::max(1, s_.threads); ++i)
    workers_.emplace_back([this] { worker(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wanted_.notify_all();
  for (auto& t : workers_)
    t.join();
}

std::int64_t BatchLoader::pools_per_epoch() const {
  const auto per_pool = static_cast<std::int64_t>(s_.batch_size) * s_.pool_batches;
  return (static_cast<std::int64_t>(lines_.size()) + per_pool - 1) / per_pool;
}

LoaderPosition BatchLoader::position() const {
  std::lock_guard lock(mutex_);
  return {consuming_.epoch, consuming_.pool, batch_in_pool_};
}

namespace {
constexpr int kMaxFramesPerCharacter = 24, kMinFramesAllowed = 64;
}  // namespace

std::vector<Batch> BatchLoader::build_pool(PoolKey key) const {
  std::vector<std::size_t> order(lines_.size());
  std::iota(order.begin(), order.end(), 0);
  if (s_.shuffle) {
    std::mt19937_64 rng(derive_seed(s_.seed, static_cast<std::uint64_t>(key.epoch), 0x5eed));
    std::shuffle(order.begin(), order.end(), rng);
  }
  const std::size_t per_pool = static_cast<std::size_t>(s_.batch_size) * s_.pool_batches;
  const std::size_t begin = static_cast<std::size_t>(key.pool) * per_pool;
  const std::size_t end = std::min(order.size(), begin + per_pool);

  struct Prepared {
    std::size_t index;
    LineTensor line;
  };
  std::vector<Prepared> prepared;
  std::vector<std::string> problems;
  for (std::size_t i = begin; i < end; ++i) {
    const std::size_t idx = order[i];
    const LabelledLine& l = lines_[idx];
    try {
      const std::uint64_t seed =
          derive_seed(s_.seed, static_cast<std::uint64_t>(key.epoch), idx + 1);
      LineTensor t =
          prepare_line(l.image, s_.preprocessing, s_.augment ? &s_.augmentation : nullptr, seed);
      if (s_.frames_for_width) {
        const int need = ctc::frames_needed(l.labels);
        const int frames = s_.frames_for_width(t.width);
        if (frames < std::max(1, need)) {
          problems.push_back(l.image.string() + ": " + std::to_string(frames) +
                             " frames are too few for its " + std::to_string(l.labels.size()) +
                             " characters (line too narrow)");
          continue;
        }
        // Far more frames than characters: a line that is mostly empty, or
        // whose text height was mismeasured (a hair-thin crop). It teaches
        // little, and as the widest line of its batch it sets every line's
        // width: one such line of 5,000 pixels made a teacher's batch need
        // 20 GB. A labelled line gets at most kMaxFramesPerCharacter per
        // character (typical text takes 4 to 8).
        if (l.labelled &&
            frames > std::max(kMinFramesAllowed,
                              kMaxFramesPerCharacter * static_cast<int>(l.labels.size()))) {
          problems.push_back(l.image.string() + ": " + std::to_string(frames) +
                             " frames are too many for its " + std::to_string(l.labels.size()) +
                             " characters (line mostly empty or its text height mismeasured)");
          continue;
        }
      }
      prepared.push_back({idx, std::move(t)});
    } catch (const std::exception& e) {
      problems.push_back(e.what());
    }
  }
  std::stable_sort(prepared.begin(), prepared.end(), [](const Prepared& a, const Prepared& b) {
    return a.line.width > b.line.width;
  });
  std::vector<Batch> batches;
  for (std::size_t i = 0; i < prepared.size(); i += static_cast<std::size_t>(s_.batch_size)) {
    Batch b;
    for (std::size_t j = i; j < std::min(prepared.size(), i + s_.batch_size); ++j) {
      const LabelledLine& l = lines_[prepared[j].index];
      b.lines.push_back(std::move(prepared[j].line));
      b.targets.push_back(l.labels);
      b.texts.push_back(l.text);
      b.labelled.push_back(l.labelled ? 1 : 0);
      b.indices.push_back(prepared[j].index);
    }
    batches.push_back(std::move(b));
  }
  if (s_.shuffle) {
    std::mt19937_64 rng(derive_seed(s_.seed, static_cast<std::uint64_t>(key.epoch),
                                    static_cast<std::uint64_t>(key.pool) + 0x9001));
    std::shuffle(batches.begin(), batches.end(), rng);
  }
  for (std::size_t i = 0; i < batches.size(); ++i)
    batches[i].position = {key.epoch, key.pool, static_cast<std::int64_t>(i)};
  if (!batches.empty()) {
    batches[0].skipped = static_cast<int>(problems.size());
    batches[0].problems = std::move(problems);
  }
  return batches;
}

void BatchLoader::worker() {
  const auto ahead = static_cast<std::size_t>(std::max(2, s_.threads + 1));
  for (;;) {
    PoolKey key;
    {
      std::unique_lock lock(mutex_);
      wanted_.wait(lock, [&] {
        return stop_ || (next_to_build_.epoch - consuming_.epoch) * pools_per_epoch() +
                                (next_to_build_.pool - consuming_.pool) <
                            static_cast<std::int64_t>(ahead);
      });
      if (stop_) return;
      key = next_to_build_;
      next_to_build_ = after(next_to_build_);
    }
    std::vector<Batch> batches;
    try {
      batches = build_pool(key);
    } catch (...) {
      std::lock_guard lock(mutex_);
      failure_ = std::current_exception();
    }
    {
      std::lock_guard lock(mutex_);
      done_[key] = std::move(batches);
    }
    ready_.notify_all();
  }
}

BatchLoader::PoolKey BatchLoader::after(PoolKey key) const {
  return key.pool + 1 == pools_per_epoch() ? PoolKey{key.epoch + 1, 0}
                                           : PoolKey{key.epoch, key.pool + 1};
}

Batch BatchLoader::next() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ready_.wait(lock, [&] { return failure_ || done_.count(consuming_); });
    if (failure_) std::rethrow_exception(failure_);
    auto& pool = done_[consuming_];
    std::optional<Batch> b;
    if (batch_in_pool_ < static_cast<std::int64_t>(pool.size()))
      b = std::move(pool[static_cast<std::size_t>(batch_in_pool_++)]);
    // Move on past an exhausted or empty (all lines unusable) pool.
    if (batch_in_pool_ >= static_cast<std::int64_t>(pool.size())) {
      done_.erase(consuming_);
      consuming_ = after(consuming_);
      batch_in_pool_ = 0;
      wanted_.notify_all();
    }
    if (b) return std::move(*b);
  }
}

}  // namespace ocrcore::data
