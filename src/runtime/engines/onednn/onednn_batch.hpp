#pragma once

// What the oneDNN engine's per-op executors (src/layers/<kind>/<kind>_onednn.cpp)
// share: the batch as it flows through the network and the engine's context.
//
// Padding never reaches a line's result: before each spatial layer the
// columns past each line's own width are set to what that layer would see
// outside the line (0 for convolution, -inf for max pooling), and the LSTM
// runs each line over its own frames only.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <span>
#include <string>
#include <typeindex>
#include <vector>

#include "ocrcore/error.hpp"
#include "runtime/engines/onednn/prepared_network.hpp"
#include "runtime/engines/onednn/shape_planner.hpp"

namespace ocrcore::detail::onednn {

using dnnl::memory;

// Where element (b, c, y, x) of a 4-D feature map lives, for the plain
// (nhwc, nchw) and channel-blocked (nChw8c, nChw16c) layouts:
//   b * sb + (c / block) * sc + y * sy + x * sx + c % block.
struct Layout {
  std::size_t sb = 0, sc = 0, sy = 0, sx = 0;
  int block = 1;

  // False for layouts outside that family.
  static bool from(const memory::desc& md, Layout& out);
  std::size_t at(int b, int c, int y, int x) const {
    return b * sb + (c / block) * sc + y * sy + x * sx + c % block;
  }
};

// A batch of feature maps in some oneDNN layout, with each line's valid width.
struct FeatureMaps {
  int batch = 0, channels = 0, height = 0, width = 0;
  memory::desc md;
  Layout layout;
  std::vector<float> values;
  std::vector<int> widths;  // per line, <= width

  void reset(const memory::desc& desc, int b, int c, int h, int w);
  // Sets columns [widths[b], width) of every line to `value`, channel lanes
  // only (the zeros of a blocked layout's padded channels must stay zeros).
  void fill_padding(float value);
};

// Plain (nhwc) f32 feature maps.
memory::desc plain_desc(int b, int c, int h, int w);

// The batch after the collapse: `frames` x `lines` x `features`, time-major
// (frame t of line b at (t * lines + b) * features). Lines are sorted widest
// first, so the lines still running at frame t are a prefix.
struct FrameBatch {
  int frames = 0, lines = 0, features = 0;
  std::vector<int> lengths;  // each line's own frames
  std::vector<float> values;
  std::vector<float> spare;  // the next layer's output, swapped in
  std::vector<float> gates;  // the LSTM's input projections

  // Lines with more than t frames.
  int active_at(int t) const {
    int n = 0;
    while (n < lines && lengths[n] > t)
      ++n;
    return n;
  }
};

// Arguments of a primitive built once per cached primitive: the C++ API's
// execute() copies its argument map into a new vector on every call.
using ExecArgs = std::vector<dnnl_exec_arg_t>;

// What one executor reads and writes in one run, given by the engine (which
// owns the buffers and passes each executor only what its dataflow names).
struct OpData {
  FeatureMaps* maps_in = nullptr;   // feature maps read (changed in place by maps_in_place)
  FeatureMaps* maps_out = nullptr;  // feature maps written (maps_to_maps)
  FrameBatch* frames = nullptr;     // frames written (maps_to_frames) or changed in place
};

// How an executor's op moves the batch. A maps_to_maps executor may use
// maps_in as scratch once it has read it; its result is maps_out, which the
// engine then passes on as the next op's maps_in.
enum class Dataflow { maps_to_maps, maps_in_place, maps_to_frames, frames_in_place };

// One engine's resources: what its executors share (one thread's, or a
// whole-batch engine's split over `threads`), but not the batch itself.
class Context {
 public:
  Context(const PreparedNetwork& network, int thread_count, ConvAlgorithm algorithm)
      : prepared(network),
        kernels(network.kernels()),
        threads(std::max(1, thread_count)),
        conv_algorithm(algorithm),
        engine(dnnl::engine::kind::cpu, 0),
        stream(engine) {}

  void execute(const dnnl::primitive& p, const ExecArgs& args) {
    const dnnl_status_t st =
        dnnl_primitive_execute(p.get(), stream.get(), static_cast<int>(args.size()), args.data());
    if (st != dnnl_success)
      throw Error("oneDNN primitive failed (status " + std::to_string(st) + ")",
                  ErrorKind::internal);
  }
  // Runs `make` (creating primitives), adding its time to setup_seconds.
  template <class F>
  auto timed_setup(F&& make) {
    const auto start = std::chrono::steady_clock::now();
    auto made = make();
    setup_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return made;
  }

  const PreparedNetwork& prepared;
  const kernels::KernelTable& kernels;
  const int threads;
  const ConvAlgorithm conv_algorithm;
  dnnl::engine engine;
  dnnl::stream stream;
  // Scratch the executors share (one runs at a time).
  std::vector<float> relayout, padded, line_scales;
  double setup_seconds = 0;  // creating primitives, over the engine's life
};

// One step of an engine's plan: runs one op of the compiled network (or, for
// a fusion, the ops it covers) on the data the engine gives it. Built when the
// engine is made; keeps its primitives per input shape.
class OpExecutor {
 public:
  virtual ~OpExecutor() = default;
  virtual Dataflow dataflow() const = 0;
  // `data` holds what dataflow() names, the rest null.
  virtual void run(Context& context, const OpData& data) = 0;
  // Forgets every shape's primitives (the shape table was full).
  virtual void forget_shapes() {}
  // Ops of the network it runs: more than 1 for a fusion.
  virtual std::size_t ops_run() const { return 1; }
  // For profiles: its own name, and one per op it runs.
  virtual std::string name() const = 0;
  virtual std::vector<std::string> op_names() const { return {name()}; }
};

// Where an op runs: before the collapse on feature maps, or after it on
// frame sequences (an op that runs on either, such as a ReLU, is built for
// its place).
struct OpPlacement {
  bool sequence = false;
};

// How the engine runs each type of op: its executor and, if it keeps weights,
// their preparation. Each kind's src/layers/<kind>/<kind>_onednn.cpp
// registers its own (register_<kind>_onednn(), called by the list generated
// from src/layers/kinds.cmake); the engine builds its plan from here and
// includes no kind.
class ExecutorRegistry {
 public:
  using Make = std::unique_ptr<OpExecutor> (*)(const PreparedNetwork& prepared, std::size_t op,
                                               OpPlacement placement);
  using Prepare = std::unique_ptr<PreparedOp> (*)(const Op& op, const PrepareContext& context);
  struct Entry {
    std::type_index type;
    Make make;
    Prepare prepare;  // null for ops that keep no weights
  };

  template <class OpType>
  void add(Make make, Prepare prepare = nullptr) {
    add({typeid(OpType), make, prepare});
  }
  void add(Entry entry);
  // The entry for `op`'s type; throws Error naming the op when none runs it.
  const Entry& find(const Op& op) const;

 private:
  std::vector<Entry> entries_;
};

// The registry of every kind's executor, made on first use.
const ExecutorRegistry& executors();
// Generated (src/layers/kinds.cmake): registers every kind's executors.
void register_onednn_executors(ExecutorRegistry& registry);

// Runs maps_to_maps executors one after the other as one maps_to_maps step
// (a Tucker chain, a convolution and its pool): the last writes
// data.maps_out; the ones before alternate between data.maps_in (free once
// the first has read it) and `scratch`, which only the first may need.
void run_in_sequence(Context& context, std::span<OpExecutor* const> steps, const OpData& data,
                     FeatureMaps& scratch);

// Cached per-shape entries (primitives and their memory objects) of one
// executor, found by the input layout; cleared when full.
template <class T>
T* find_shape(std::vector<T>& cache, const memory::desc& src_md) {
  for (auto& e : cache)
    if (e.src_md == src_md) return &e;
  if (cache.size() >= kMaxShapes) cache.clear();
  return nullptr;
}

}  // namespace ocrcore::detail::onednn
