#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ocrcore/image.hpp"
#include "training/data/augment.hpp"
#include "training/data/dataset.hpp"

namespace ocrcore::data {

// Where a loader is in its stream of batches; saved in checkpoints so that a
// resumed run sees the same batches.
struct LoaderPosition {
  std::int64_t epoch = 0;
  std::int64_t pool = 0;   // pool within the epoch
  std::int64_t batch = 0;  // batch within the pool
};

// How batches of similar widths are formed within a pool: `measured`, every
// line loaded and then sorted by its width (the least padding: about 6% on
// rendered scan-like lines), which only a process that loads every line can
// do; `premeasured`, sorted by the widths measured_widths() took before
// training (unaugmented), as the ranks of a data-parallel job plan by default
// (each measured its share; the shares summed); `predicted`, sorted by the
// width the image header predicts before anything is loaded (about 26%
// padding there, since center_text scales by the text, not the crop).
enum class BatchWidths { measured, premeasured, predicted };

// "measured", "premeasured" or "predicted"; parse_batch_widths throws Error
// on any other name.
const char* batch_widths_name(BatchWidths widths);
BatchWidths parse_batch_widths(const std::string& name);

struct LoaderSettings {
  int batch_size = 16;
  int pool_batches = 32;  // lines are sorted by width within pools of this many batches
  std::uint64_t seed = 1;
  bool shuffle = true;
  bool augment = true;
  AugmentSettings augmentation;
  Preprocessing preprocessing;
  int threads = 1;
  BatchWidths widths = BatchWidths::measured;
  // premeasured: every line's width (-1: unreadable), as measure_widths() gives them.
  std::shared_ptr<const std::vector<int>> line_widths;
  // Data-parallel training (widths planned before loading): this loader's rank of `ranks`. Every
  // rank forms the same global batches of batch_size lines and prepares only its share (lines rank,
  // rank + ranks, rank + 2 ranks, ... of the width-sorted batch).
  int rank = 0, ranks = 1;
  // Frames the network makes of a normalised width; lines with fewer frames
  // than their label needs are skipped and counted.
  std::function<int(int)> frames_for_width;
};

// A batch, or with several ranks this rank's share of a global batch.
struct Batch {
  std::vector<LineTensor> lines;  // widest first
  std::vector<std::vector<int>> targets;
  std::vector<std::string> texts;
  std::vector<char> labelled;         // whether each line has a transcription
  std::vector<std::size_t> indices;   // into the dataset
  LoaderPosition position;            // of this batch
  int skipped = 0;                    // lines of its pool that could not be used (first batch only)
  std::vector<std::string> problems;  // what was wrong with them
};

// Streams batches of augmented, normalised lines, endlessly, epoch after
// epoch. Each epoch is a seeded permutation cut into pools; within a pool
// lines are sorted by width (little padding: BatchWidths) and the pool's
// batches are shuffled. Worker threads prepare pools ahead of the trainer;
// the stream depends only on the seed, the position and the widths setting,
// not on timing or thread count, nor (widths planned before loading) on the
// number of ranks.
class BatchLoader {
 public:
  BatchLoader(std::vector<LabelledLine> lines, LoaderSettings settings, LoaderPosition start = {});
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  Batch next();
  // Position of the batch the next call to next() returns.
  LoaderPosition position() const;
  std::size_t size() const { return lines_.size(); }
  std::int64_t pools_per_epoch() const;

 private:
  struct PoolKey {
    std::int64_t epoch, pool;
    auto operator<=>(const PoolKey&) const = default;
  };
  std::vector<Batch> build_pool(PoolKey key) const;
  int predicted_width(const LabelledLine& line) const;
  // Line `idx` loaded, augmented and normalised; nullopt (and why in
  // `problems`) when it cannot be used.
  std::optional<LineTensor> prepare(std::size_t idx, std::int64_t epoch,
                                    std::vector<std::string>& problems) const;
  PoolKey after(PoolKey key) const;  // the next pool, wrapping into the next epoch
  void worker();

  std::vector<LabelledLine> lines_;
  LoaderSettings s_;
  mutable std::mutex mutex_;
  std::condition_variable ready_, wanted_;
  std::map<PoolKey, std::vector<Batch>> done_;
  PoolKey next_to_build_{};
  PoolKey consuming_{};
  std::int64_t batch_in_pool_ = 0;
  bool stop_ = false;
  std::vector<std::thread> workers_;
  std::exception_ptr failure_;
};

// The normalised width of each line whose index is `rank` modulo `ranks`
// (loaded without augmentation on `threads` threads; -1 when it cannot be
// loaded, which training reports when it prepares the line), 0 for the other
// ranks' lines: summed over the ranks, every line's width.
std::vector<int> measure_widths(const std::vector<LabelledLine>& lines,
                                const Preprocessing& preprocessing, int rank, int ranks,
                                int threads);

// Loads, optionally augments and normalises one line; throws Error naming the file.
LineTensor prepare_line(const std::filesystem::path& image, const Preprocessing& preprocessing,
                        const AugmentSettings* augmentation, std::uint64_t seed);

}  // namespace ocrcore::data
