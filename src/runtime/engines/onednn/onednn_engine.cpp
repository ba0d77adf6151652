// Batched engine: lines padded to a common width and run through a plan of
// per-op executors (src/layers/<kind>/<kind>_onednn.cpp) built when the
// engine is made: convolutions and pooling as oneDNN primitives in the memory
// layout oneDNN prefers for them, the first layer, the LSTM and the output
// layer on ocrcore's own per-ISA kernels (an fp32 LSTM's input projection on
// dnnl_sgemm).
//
// Steady state allocates nothing but the results: primitives, their memory
// objects and all buffers are kept per batch shape and reused. The batch width
// is rounded up to a multiple of kWidthQuantum so that a stream of lines of
// varying width meets a few shapes, not one per batch; and a batch whose
// shape has no primitives yet may run at a wider shape that has them
// (ShapePlanner), since creating a shape's primitives costs several batches'
// worth of arithmetic.

#include <omp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <numeric>
#include <oneapi/dnnl/dnnl.hpp>

#include "ocrcore/error.hpp"
#include "runtime/engines/engine.hpp"
#include "runtime/engines/onednn/image_conv.hpp"
#include "runtime/engines/onednn/onednn_batch.hpp"
#include "runtime/engines/onednn/prepared_network.hpp"
#include "runtime/engines/onednn/shape_planner.hpp"

namespace ocrcore::detail {

namespace {

using namespace onednn;

constexpr int kWidthQuantum = 32;

// An executor and the ops of the network it runs.
struct PlanStep {
  std::unique_ptr<OpExecutor> executor;
  std::size_t first_op = 0;
  Dataflow dataflow = Dataflow::maps_to_maps;  // the executor's
};

// The plan: one executor per op of the compiled network, each from its
// kind's entry in the executor registry, then the engine's fusion: the image
// layer (and the pool after it) as planned when the network was prepared.
std::vector<PlanStep> make_plan(const PreparedNetwork& prepared) {
  const auto& ops = prepared.network().ops;
  const ExecutorRegistry& registry = executors();
  std::vector<PlanStep> plan;
  OpPlacement placement;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    auto executor = registry.find(*ops[i]).make(prepared, i, placement);
    const Dataflow dataflow = executor->dataflow();
    plan.push_back({std::move(executor), i, dataflow});
    if (ops[i]->makes_sequence()) placement.sequence = true;
  }
  if (prepared.image_conv().active) {
    auto fused = make_image_conv_executor(prepared);
    plan.erase(plan.begin(), plan.begin() + static_cast<std::ptrdiff_t>(fused->ops_run()));
    const Dataflow dataflow = fused->dataflow();
    plan.insert(plan.begin(), {std::move(fused), 0, dataflow});
  }
  return plan;
}

class OnednnEngine final : public Engine {
 public:
  OnednnEngine(std::shared_ptr<const PreparedNetwork> prepared, int threads,
               ConvAlgorithm conv_algorithm)
      : prepared_(std::move(prepared)),
        net_(prepared_->network()),
        context_(*prepared_, threads, conv_algorithm),
        plan_(make_plan(*prepared_)) {
    profile_.resize(net_.ops.size());
  }

  std::vector<LogProbs> forward(std::span<const LineTensor> lines) override {
    std::vector<LogProbs> out(lines.size());
    forward_into(lines, out);
    return out;
  }

  // forward() into the caller's results, one per line.
  void forward_into(std::span<const LineTensor> lines, std::span<LogProbs> out) {
    try {
      run(lines, out);
    } catch (const dnnl::error& e) {
      throw Error(std::string("oneDNN error: ") + e.what(), ErrorKind::internal);
    }
  }

  void set_profiling(bool on) override { profiling_ = on; }
  // One entry per op of the network: a step's time counts for its first op,
  // the other ops a fused step runs are marked folded.
  std::vector<OpProfile> profile() const override {
    std::vector<OpProfile> out(net_.ops.size());
    for (const PlanStep& step : plan_) {
      const std::vector<std::string> names = step.executor->op_names();
      for (std::size_t k = 0; k < step.executor->ops_run(); ++k)
        out[step.first_op + k] = {k < names.size() ? names[k] : step.executor->name(),
                                  k == 0 ? profile_[step.first_op] : 0.0, k > 0};
    }
    out.push_back({"log_softmax", softmax_seconds_});
    out.push_back({"primitive creation", profiled_setup_seconds_});
    return out;
  }

 private:
  using Clock = std::chrono::steady_clock;

  void run(std::span<const LineTensor> lines, std::span<LogProbs> result) {
    check_line_heights(net_, lines);
    if (lines.empty()) return;
    // oneDNN sizes its OpenMP teams from this thread's setting; restore the
    // caller's on the way out.
    struct ThreadScope {
      int saved = omp_get_max_threads();
      explicit ThreadScope(int n) { omp_set_num_threads(n); }
      ~ThreadScope() { omp_set_num_threads(saved); }
    } thread_scope(context_.threads);

    // Widest first, so that the lines still running at any LSTM step are a prefix.
    const int B = static_cast<int>(lines.size());
    order_.resize(B);
    std::iota(order_.begin(), order_.end(), 0);
    // (std::sort with an index tie-break: stable_sort would allocate.)
    std::sort(order_.begin(), order_.end(), [&](int a, int b) {
      return lines[a].width != lines[b].width ? lines[a].width > lines[b].width : a < b;
    });

    const auto run_start = Clock::now();
    const double setup_before = context_.setup_seconds;
    int W = std::max(lines[order_[0]].width, net_.min_width);
    W = shapes_.choose(B, (W + kWidthQuantum - 1) / kWidthQuantum * kWidthQuantum);
    {
      const int H = net_.input_height;
      FeatureMaps& in = maps_[0];
      in.reset(input_desc(B, H, W), B, 1, H, W);
      in.widths.resize(B);
      std::fill(in.values.begin(), in.values.end(), 0.0f);
      for (int b = 0; b < B; ++b) {
        const LineTensor& l = lines[order_[b]];
        in.widths[b] = std::max(l.width, net_.min_width);
        for (int y = 0; y < H; ++y)
          std::copy_n(l.pixels.data() + static_cast<std::size_t>(y) * l.width, l.width,
                      in.values.data() + in.layout.at(b, 0, y, 0));
      }
    }

    // The batch flows through the plan: feature maps between two buffers
    // (a step's output is the next one's input), then frames.
    FeatureMaps* maps_in = &maps_[0];
    FeatureMaps* maps_out = &maps_[1];
    for (PlanStep& step : plan_) {
      const auto start = profiling_ ? Clock::now() : Clock::time_point{};
      OpData data;
      switch (step.dataflow) {
        case Dataflow::maps_to_maps:
          data = {maps_in, maps_out, nullptr};
          break;
        case Dataflow::maps_in_place:
          data = {maps_in, nullptr, nullptr};
          break;
        case Dataflow::maps_to_frames:
          data = {maps_in, nullptr, &frames_};
          break;
        case Dataflow::frames_in_place:
          data = {nullptr, nullptr, &frames_};
          break;
      }
      step.executor->run(context_, data);
      if (step.dataflow == Dataflow::maps_to_maps) std::swap(maps_in, maps_out);
      if (profiling_)
        profile_[step.first_op] += std::chrono::duration<double>(Clock::now() - start).count();
    }
    const auto start = profiling_ ? Clock::now() : Clock::time_point{};
    split_log_softmax(result);
    if (profiling_) softmax_seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
    const double setup = context_.setup_seconds - setup_before;
    if (profiling_) profiled_setup_seconds_ += setup;
    const double total = std::chrono::duration<double>(Clock::now() - run_start).count();
    if (!shapes_.ran(B, W, total - setup, setup)) drop_shapes();
  }

  // Forgets every shape's primitives (the weights stay reordered).
  void drop_shapes() {
    for (PlanStep& step : plan_)
      step.executor->forget_shapes();
    input_mds_.clear();
  }

  // Descriptor of the plain input batch, kept per shape (memory::dims is a
  // std::vector: building one allocates).
  const memory::desc& input_desc(int B, int H, int W) {
    const std::array<int, 3> shape{B, H, W};
    for (const auto& [s, md] : input_mds_)
      if (s == shape) return md;
    if (input_mds_.size() >= kMaxShapes) input_mds_.clear();
    input_mds_.emplace_back(shape, plain_desc(B, 1, H, W));
    return input_mds_.back().second;
  }

  // Log-softmax of each line's own frames, straight into its result.
  void split_log_softmax(std::span<LogProbs> result) const {
    const FrameBatch& f = frames_;
    for (int b = 0; b < f.lines; ++b) {
      LogProbs& lp = result[order_[b]];
      lp.frames = f.lengths[b];
      lp.classes = f.features;
      lp.values.resize(static_cast<std::size_t>(lp.frames) * f.features);
      for (int t = 0; t < lp.frames; ++t)
        context_.kernels.log_softmax(
            f.values.data() + (static_cast<std::size_t>(t) * f.lines + b) * f.features,
            lp.values.data() + static_cast<std::size_t>(t) * f.features, f.features);
    }
  }

  std::shared_ptr<const PreparedNetwork> prepared_;  // the model's, shared by all engines
  const CompiledNetwork& net_;
  Context context_;
  std::vector<PlanStep> plan_;
  // The batch: feature maps (two buffers, each step's input and output) and,
  // after the collapse, frames.
  FeatureMaps maps_[2];
  FrameBatch frames_;
  std::vector<std::pair<std::array<int, 3>, memory::desc>> input_mds_;
  std::vector<int> order_;
  ShapePlanner shapes_;
  double profiled_setup_seconds_ = 0;
  bool profiling_ = false;
  std::vector<double> profile_;  // by op
  double softmax_seconds_ = 0;
};

// A batch of at least as many lines as threads is split between the threads,
// each running its share through the whole network on an engine of its own
// (one thread each); smaller batches run on one engine whose ops are split
// between the threads. Splitting each op left the second thread mostly idle
// on small models: the compact int8 model read 974 lines/s with two threads
// against 910 with one (bench_runtime, uw3-dev lines). The engines share the
// prepared weights; each adds only its scratch and primitives.
class LineParallelEngine final : public Engine {
 public:
  LineParallelEngine(const std::shared_ptr<const PreparedNetwork>& prepared, int threads,
                     ConvAlgorithm conv_algorithm)
      : whole_(prepared, threads, conv_algorithm) {
    for (int t = 0; t < threads; ++t)
      shares_.push_back(std::make_unique<OnednnEngine>(prepared, 1, conv_algorithm));
  }

  std::vector<LogProbs> forward(std::span<const LineTensor> lines) override {
    const std::size_t n = shares_.size();
    if (lines.size() < n || profiling_) return whole_.forward(lines);
    std::vector<LogProbs> out(lines.size());
    std::exception_ptr error;
#pragma omp parallel for num_threads(static_cast <int>(n)) schedule(static, 1)
    for (std::size_t t = 0; t < n; ++t) {
      const std::size_t begin = lines.size() * t / n, end = lines.size() * (t + 1) / n;
      try {
        shares_[t]->forward_into(lines.subspan(begin, end - begin),
                                 std::span(out).subspan(begin, end - begin));
      } catch (...) {
#pragma omp critical
        error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    return out;
  }

  // Profiles are of the whole-batch engine (its ops split between threads).
  void set_profiling(bool on) override {
    profiling_ = on;
    whole_.set_profiling(on);
  }
  std::vector<OpProfile> profile() const override {
    return whole_.profile();
  }

 private:
  OnednnEngine whole_;
  std::vector<std::unique_ptr<OnednnEngine>> shares_;
  bool profiling_ = false;
};

}  // namespace

std::unique_ptr<Engine> make_onednn_engine(const Model& model, const OnednnSettings& options) {
  try {
    auto prepared = prepared_network(model, options.isa, options.tucker, options.lstm_precision,
                                     options.conv_precision);
    if (options.threads > 1)
      return std::make_unique<LineParallelEngine>(prepared, options.threads,
                                                  options.conv_algorithm);
    return std::make_unique<OnednnEngine>(std::move(prepared), 1, options.conv_algorithm);
  } catch (const dnnl::error& e) {
    throw Error(std::string("oneDNN backend unavailable: ") + e.what(), ErrorKind::unsupported);
  }
}

}  // namespace ocrcore::detail
