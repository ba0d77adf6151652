#include "training/data/batch_loader.hpp"

#include <algorithm>
#include <atomic>
#include <limits>
#include <numeric>
#include <optional>
#include <random>

#include "ocrcore/error.hpp"
#include "runtime/ctc/ctc_math.hpp"
#include "runtime/image/image_header.hpp"
#include "training/data/seeding.hpp"

namespace ocrcore::data {

const char* batch_widths_name(BatchWidths widths) {
  switch (widths) {
    case BatchWidths::measured:
      return "measured";
    case BatchWidths::premeasured:
      return "premeasured";
    case BatchWidths::predicted:
      return "predicted";
  }
  return "?";
}

BatchWidths parse_batch_widths(const std::string& name) {
  for (BatchWidths w : {BatchWidths::measured, BatchWidths::premeasured, BatchWidths::predicted})
    if (name == batch_widths_name(w)) return w;
  throw Error("batch widths '" + name + "': expected measured, premeasured or predicted");
}

std::vector<int> measure_widths(const std::vector<LabelledLine>& lines,
                                const Preprocessing& preprocessing, int rank, int ranks,
                                int threads) {
  if (ranks < 1 || rank < 0 || rank >= ranks)
    throw Error("measuring widths as rank " + std::to_string(rank) + " of " +
                std::to_string(ranks));
  std::vector<int> widths(lines.size(), 0);
  const std::size_t step = static_cast<std::size_t>(ranks);
  const std::size_t total = lines.size() > static_cast<std::size_t>(rank)
                                ? (lines.size() - static_cast<std::size_t>(rank) + step - 1) / step
                                : 0;
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t k; (k = next++) < total;) {
      const std::size_t i = static_cast<std::size_t>(rank) + k * step;
      try {
        widths[i] = prepare_line(lines[i].image, preprocessing, nullptr, 0).width;
      } catch (const std::exception&) {
        widths[i] = -1;  // reported with the line's name when training prepares it
      }
    }
  };
  std::vector<std::thread> helpers;
  for (int t = 1; t < std::max(1, threads); ++t)
    helpers.emplace_back(work);
  work();
  for (auto& t : helpers)
    t.join();
  return widths;
}

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
  if (s_.ranks < 1 || s_.rank < 0 || s_.rank >= s_.ranks)
    throw Error("loader rank " + std::to_string(s_.rank) + " of " + std::to_string(s_.ranks));
  if (s_.ranks > 1 && s_.widths == BatchWidths::measured)
    throw Error("ranks of a data-parallel job plan batches from premeasured or predicted widths");
  if (s_.widths == BatchWidths::premeasured &&
      (!s_.line_widths || s_.line_widths->size() != lines_.size()))
    throw Error("premeasured batch widths need every line's width");
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

int BatchLoader::predicted_width(const LabelledLine& line) const {
  // The normalised width if the whole image is scaled to the model's height
  // (exact for scale_crop; center_text differs by the crop's margins, alike
  // across a data set). An unreadable header sorts first and is reported
  // when the line is prepared.
  const auto size = detail::read_image_size(line.image);
  if (!size || size->height <= 0) return std::numeric_limits<int>::max();
  return static_cast<int>(static_cast<std::int64_t>(size->width) * s_.preprocessing.height /
                          size->height);
}

namespace {

struct Prepared {
  std::size_t index;
  LineTensor line;
};

void sort_widest_first(std::vector<Prepared>& lines) {
  std::stable_sort(lines.begin(), lines.end(), [](const Prepared& a, const Prepared& b) {
    return a.line.width > b.line.width;
  });
}

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
  auto shuffle_batches = [&](auto& batches) {
    if (!s_.shuffle) return;
    std::mt19937_64 rng(derive_seed(s_.seed, static_cast<std::uint64_t>(key.epoch),
                                    static_cast<std::uint64_t>(key.pool) + 0x9001));
    std::shuffle(batches.begin(), batches.end(), rng);
  };
  std::vector<std::string> problems;
  auto make_batch = [&](std::vector<Prepared>& prepared, std::size_t from, std::size_t to) {
    Batch b;
    for (std::size_t j = from; j < to; ++j) {
      const LabelledLine& l = lines_[prepared[j].index];
      b.lines.push_back(std::move(prepared[j].line));
      b.targets.push_back(l.labels);
      b.texts.push_back(l.text);
      b.labelled.push_back(l.labelled ? 1 : 0);
      b.indices.push_back(prepared[j].index);
    }
    return b;
  };

  std::vector<Batch> batches;
  if (s_.widths == BatchWidths::measured) {
    // Every line of the pool loaded, then sorted by its width: the least
    // padding (the network computes the padded columns).
    std::vector<Prepared> prepared;
    for (std::size_t i = begin; i < end; ++i)
      if (auto line = prepare(order[i], key.epoch, problems))
        prepared.push_back({order[i], std::move(*line)});
    sort_widest_first(prepared);
    for (std::size_t i = 0; i < prepared.size(); i += static_cast<std::size_t>(s_.batch_size))
      batches.push_back(make_batch(prepared, i, std::min(prepared.size(), i + s_.batch_size)));
    shuffle_batches(batches);
  } else {
    // The pool's global batches from widths known before any line is loaded
    // (measured before training, or predicted by the headers), the same on
    // every rank. An unreadable line sorts first; it is reported when prepared.
    std::vector<std::pair<int, std::size_t>> planned;  // (planned width, line)
    for (std::size_t i = begin; i < end; ++i) {
      const std::size_t line = order[i];
      int width = s_.widths == BatchWidths::premeasured ? (*s_.line_widths)[line]
                                                        : predicted_width(lines_[line]);
      if (width < 0) width = std::numeric_limits<int>::max();
      planned.emplace_back(width, line);
    }
    std::stable_sort(planned.begin(), planned.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::vector<std::size_t>> global;
    for (std::size_t i = 0; i < planned.size(); i += static_cast<std::size_t>(s_.batch_size)) {
      global.emplace_back();
      for (std::size_t j = i; j < std::min(planned.size(), i + s_.batch_size); ++j)
        global.back().push_back(planned[j].second);
    }
    shuffle_batches(global);
    // This rank's share of each, prepared: every ranks-th line of the
    // width-sorted batch, so that each rank's share is as wide as the others'
    // and none waits long for the rest at the step's collectives.
    for (const auto& lines : global) {
      std::vector<Prepared> prepared;
      for (std::size_t j = static_cast<std::size_t>(s_.rank); j < lines.size();
           j += static_cast<std::size_t>(s_.ranks))
        if (auto line = prepare(lines[j], key.epoch, problems))
          prepared.push_back({lines[j], std::move(*line)});
      sort_widest_first(prepared);
      batches.push_back(make_batch(prepared, 0, prepared.size()));
    }
  }
  for (std::size_t g = 0; g < batches.size(); ++g)
    batches[g].position = {key.epoch, key.pool, static_cast<std::int64_t>(g)};
  if (!batches.empty()) {
    batches[0].skipped = static_cast<int>(problems.size());
    batches[0].problems = std::move(problems);
  }
  return batches;
}

std::optional<LineTensor> BatchLoader::prepare(std::size_t idx, std::int64_t epoch,
                                               std::vector<std::string>& problems) const {
  const LabelledLine& l = lines_[idx];
  try {
    const std::uint64_t seed = derive_seed(s_.seed, static_cast<std::uint64_t>(epoch), idx + 1);
    LineTensor t =
        prepare_line(l.image, s_.preprocessing, s_.augment ? &s_.augmentation : nullptr, seed);
    if (s_.frames_for_width) {
      const int need = ctc::frames_needed(l.labels);
      const int frames = s_.frames_for_width(t.width);
      if (frames < std::max(1, need)) {
        problems.push_back(l.image.string() + ": " + std::to_string(frames) +
                           " frames are too few for its " + std::to_string(l.labels.size()) +
                           " characters (line too narrow)");
        return std::nullopt;
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
        return std::nullopt;
      }
    }
    return t;
  } catch (const std::exception& e) {
    problems.push_back(e.what());
    return std::nullopt;
  }
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
