// Per-layer speed of the oneDNN engine, as GFLOP/s and as a fraction of this
// CPU's fp32 FMA peak (measured here by BM_FmaPeak, in the same run).
//
// Two FLOP counts per layer: GFLOP/s counts every multiply-add of the layer's
// nominal shape (as the FLOPs figures of DESIGN.md), useful_GFLOP/s only the
// kernel taps that land on the input and not on zero padding. The difference
// matters on the teacher's last 3x3 layers: at height 2 a third of the
// nominal taps read padding, and oneDNN skips them, so only the useful count
// can be set against the FMA peak (of_peak = useful rate / (peak x threads)).
// A layer run as Winograd is credited with direct convolution's FLOPs (the
// work it replaces), so its of_peak can pass 1.
//
// Each BM_Layer case times one op of a whole model forward pass from the
// engine's own per-op profile (manual time), so what is measured is exactly
// what the runtime does for that layer: same layouts, same primitives.
//
//   build/benchmarks/bench_layers [--benchmark_repetitions=5]
//   OCRCORE_BENCH_MODELS=name=path.ocrm,... adds or replaces models.
//   OCRCORE_TUCKER=chain|composed times Tucker layers as three convolutions
//   or composed back into one (the engine's default picks per layer).
//
// 3x3 convolutions are also timed with the algorithm forced each way
// (".../direct", ".../winograd", next to the engine's own choice), so the
// engine's rule can be checked against both in the same run.

#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <random>
#include <sstream>

#include "layers/collapse/collapse_op.hpp"
#include "layers/linear/linear_op.hpp"
#include "layers/lstm/lstm_op.hpp"
#include "layers/max_pool/max_pool_op.hpp"
#include "layers/tucker_conv/tucker_conv_op.hpp"
#include "ocrcore/ocrcore.hpp"
#include "runtime/engines/engine.hpp"
#include "runtime/graph/shapes.hpp"
#include "runtime/kernels/kernels.hpp"
#include "runtime/model/model_access.hpp"
#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::detail;

namespace {

constexpr int kWidth = 512;  // a 32x512 line, as every figure in DESIGN.md

// ---- FMA peak ------------------------------------------------------------
// 16 independent accumulator chains cover FMA latency x ports on current
// cores; the function bodies differ only in vector width.
__attribute__((target("avx512f"))) float fma_avx512(long n) {
  __m512 acc[16];
  const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-3f);
  for (auto& a : acc)
    a = c;
  for (long i = 0; i < n; ++i)
#pragma GCC unroll 16
    for (auto& a : acc)
      a = _mm512_fmadd_ps(a, m, c);
  __m512 s = acc[0];
  for (int k = 1; k < 16; ++k)
    s = _mm512_add_ps(s, acc[k]);
  return _mm512_reduce_add_ps(s);
}
__attribute__((target("avx2,fma"))) float fma_avx2(long n) {
  __m256 acc[16];
  const __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-3f);
  for (auto& a : acc)
    a = c;
  for (long i = 0; i < n; ++i)
#pragma GCC unroll 16
    for (auto& a : acc)
      a = _mm256_fmadd_ps(a, m, c);
  __m256 s = acc[0];
  for (int k = 1; k < 16; ++k)
    s = _mm256_add_ps(s, acc[k]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

// One core's int8 multiply-add peak with AVX-512 VNNI: 16 independent
// vpdpbusd chains, each instruction 64 multiply-adds (u8 x s8 into s32).
__attribute__((target("avx512f,avx512vnni"))) int vnni_chains(long n) {
  __m512i acc[16];
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  for (auto& v : acc)
    v = _mm512_setzero_si512();
  for (long i = 0; i < n; ++i)
#pragma GCC unroll 16
    for (auto& v : acc)
      v = _mm512_dpbusd_epi32(v, a, b);
  __m512i s = acc[0];
  for (int k = 1; k < 16; ++k)
    s = _mm512_add_epi32(s, acc[k]);
  return _mm512_reduce_add_epi32(s);
}

// This thread's CPU time: on a shared machine wall time also counts the
// neighbours' turns.
double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Multiply-adds per second at that peak, measured once (best of several).
double vnni_peak_macs() {
  static const double peak = [] {
    const long n = 1 << 16;
    double best = 0;
    for (int r = 0; r < 20; ++r) {
      const double t0 = thread_seconds();
      benchmark::DoNotOptimize(vnni_chains(n));
      best = std::max(best, 16.0 * 64 * n / (thread_seconds() - t0));
    }
    return best;
  }();
  return peak;
}

void BM_VnniPeak(benchmark::State& state) {
  long n = 1 << 18;
  for (auto _ : state) {
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(vnni_chains(n));
  }
  state.counters["GMAC/s"] =
      benchmark::Counter(16.0 * 64 * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_FmaPeak(benchmark::State& state, Isa isa) {
  long n = 1 << 20;
  const int lanes = isa == Isa::avx512 ? 16 : 8;
  for (auto _ : state) {
    benchmark::DoNotOptimize(n);  // or GCC hoists the (pure) call out of the loop
    benchmark::DoNotOptimize(isa == Isa::avx512 ? fma_avx512(n) : fma_avx2(n));
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * 16 * lanes * n * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// ---- LSTM step kernel alone ----------------------------------------------
// `alternate`: reverse the column order every other step, as the engine does.
// precision "fp32" (lstm_step) or "int8" (lstm_step_int8, same weights quantised).
void BM_LstmStep(benchmark::State& state, Isa isa, int hidden, int lines, bool alternate,
                 bool int8) {
  const auto& table = kernels::kernel_table(isa);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-0.1f, 0.1f);
  std::vector<float> w_hh(static_cast<std::size_t>(4) * hidden * hidden);
  for (float& v : w_hh)
    v = u(rng);
  const auto packed = kernels::pack_recurrent(w_hh.data(), nullptr, hidden);
  const auto packed_int8 = kernels::pack_recurrent_int8(w_hh.data(), nullptr, hidden);
  std::vector<float> gates(static_cast<std::size_t>(lines) * 4 * hidden, 0.1f),
      h(static_cast<std::size_t>(lines) * hidden, 0.0f), c(h.size(), 0.0f), y(h.size()),
      scratch(static_cast<std::size_t>(kernels::kStepLines) * packed.padded);
  kernels::LstmStep step{&packed,  lines,    gates.data(),        std::size_t(4 * hidden), h.data(),
                         c.data(), y.data(), std::size_t(hidden), scratch.data()};
  step.weights_int8 = &packed_int8;
  const auto run = int8 ? table.lstm_step_int8 : table.lstm_step;
  const double t0 = thread_seconds();
  for (auto _ : state) {
    run(step);
    if (alternate) step.reverse_columns = !step.reverse_columns;
    benchmark::ClobberMemory();
  }
  const double seconds = thread_seconds() - t0;
  const double macs = static_cast<double>(lines) * 4 * hidden * hidden;
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  // The step's limit: its 4N x N recurrent multiply-adds at the VNNI peak
  // (the input projection runs before, over all frames at once). What a step
  // costs beyond it is the gates' non-linearities, quantising h and latency.
  if (int8 && seconds > 0) {
    const double per_step = seconds / static_cast<double>(state.iterations());
    state.counters["cpu_ns/step"] = per_step * 1e9;
    state.counters["bound_ns"] = macs / vnni_peak_macs() * 1e9;
    state.counters["of_bound"] = macs / vnni_peak_macs() / per_step;
  }
}

// ---- layers --------------------------------------------------------------
struct OpFlops {
  double nominal = 0;  // every multiply-add of the shape (x2)
  double useful = 0;   // only taps that read the input, not its zero padding
};

// Sum over output positions of the kernel taps that fall inside the input,
// along one dimension.
double useful_taps(int in, int out, int kernel, int stride, int pad) {
  double taps = 0;
  for (int o = 0; o < out; ++o)
    for (int k = 0; k < kernel; ++k) {
      const int i = o * stride - pad + k;
      taps += i >= 0 && i < in;
    }
  return taps;
}

// FLOPs of each op of the compiled network for one line of the given width
// (multiply-add = 2; element-wise work not counted).
std::vector<OpFlops> op_flops(const CompiledNetwork& net, int height, int width) {
  std::vector<OpFlops> out;
  int h = height, w = width;
  int frames = 0;
  auto conv = [&](const ConvOp& op) {
    const int oh = conv_out(h, op.kernel_h, op.stride_h, op.pad_h);
    const int ow = conv_out(w, op.kernel_w, op.stride_w, op.pad_w);
    const double channels = 2.0 * op.out_channels * op.in_channels / op.groups;
    const OpFlops f{channels * oh * ow * op.kernel_h * op.kernel_w,
                    channels * useful_taps(h, oh, op.kernel_h, op.stride_h, op.pad_h) *
                        useful_taps(w, ow, op.kernel_w, op.stride_w, op.pad_w)};
    h = oh, w = ow;
    return f;
  };
  auto add = [](OpFlops& a, OpFlops b) { a.nominal += b.nominal, a.useful += b.useful; };
  for (const auto& op_ptr : net.ops) {
    const Op& op = *op_ptr;
    OpFlops f;
    if (auto* cv = op_as<ConvOp>(op)) {
      f = conv(*cv);
    } else if (auto* t = op_as<TuckerOp>(op)) {
      // Counted as the chain's work even where the engine composes the
      // layer (it then does more multiply-adds than this counts).
      if (t->has_in) add(f, conv(t->in));
      add(f, conv(t->core));
      add(f, conv(t->out));
    } else if (auto* p = op_as<PoolOp>(op)) {
      h = pool_out(h, p->kernel_h, p->stride_h, p->pad_h, p->ceil_mode);
      w = pool_out(w, p->kernel_w, p->stride_w, p->pad_w, p->ceil_mode);
    } else if (op_as<CollapseOp>(op)) {
      frames = w;
    } else if (auto* l = op_as<LstmOp>(op)) {
      for (int k = 0; k < l->num_layers; ++k)
        f.nominal += 2.0 * frames * l->directions() * 4 * l->hidden_size *
                     (l->layer_input(k) + l->hidden_size);
      f.useful = f.nominal;
    } else if (auto* lin = op_as<LinearOp>(op)) {
      f.nominal = f.useful = 2.0 * frames * lin->in_features * lin->out_features;
    }
    out.push_back(f);
  }
  return out;
}

std::map<std::string, std::shared_ptr<const Model>>& models() {
  static std::map<std::string, std::shared_ptr<const Model>> m;
  return m;
}

void load_models() {
  auto arch_model = [](const std::string& path) {
    return test::random_model(Architecture::from_json(test::read_bytes(path)), 42);
  };
  models()["teacher"] = arch_model(OCRCORE_SOURCE_DIR "/models/arch/teacher-printed.json");
  models()["compact"] = arch_model(OCRCORE_BENCH_DIR "/arch/compact-sized.json");
  if (const char* env = std::getenv("OCRCORE_BENCH_MODELS")) {
    std::stringstream ss(env);
    std::string item;
    while (std::getline(ss, item, ',')) {
      const auto eq = item.find('=');
      if (eq == std::string::npos) continue;
      models()[item.substr(0, eq)] = Model::load(item.substr(eq + 1));
    }
  }
}

// One core's FMA peak in GFLOP/s on the widest vector path, measured once
// before the layers run (best of several short runs, so that a noisy
// neighbour lowers it less). It feeds the console's of_peak counter;
// benchmarks/peers/layers_table.py recomputes the fraction from the
// BM_FmaPeak median of the same run.
double fma_peak_gflops() {
  static const double peak = [] {
    const auto isas = supported_isas();
    const bool wide = std::find(isas.begin(), isas.end(), Isa::avx512) != isas.end();
    const long n = 1 << 18;
    double best = 0;
    for (int r = 0; r < 20; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(wide ? fma_avx512(n) : fma_avx2(n));
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, 2.0 * 16 * (wide ? 16 : 8) * n / s * 1e-9);
    }
    return best;
  }();
  return peak;
}

// The engine's settings: threads, the convolution algorithm ("auto" is the
// engine's own choice) and OCRCORE_TUCKER's Tucker execution.
OnednnSettings engine_options(int threads, const char* conv_algorithm) {
  OnednnSettings options;
  options.threads = threads;
  options.conv_algorithm = parse_conv_algorithm(conv_algorithm);
  const char* tucker = std::getenv("OCRCORE_TUCKER");
  if (tucker && *tucker) options.tucker = parse_tucker_execution(tucker);
  return options;
}

void BM_Layer(benchmark::State& state, const std::string& model_name, std::size_t op_index,
              OpFlops flops, int batch, int threads, const char* conv_algorithm) {
  const auto& model = models().at(model_name);
  auto engine = make_onednn_engine(*model, engine_options(threads, conv_algorithm));
  std::mt19937 rng(3);
  std::vector<LineTensor> lines;
  for (int b = 0; b < batch; ++b)
    lines.push_back(test::random_line(ModelAccess::network(*model).input_height, kWidth, rng));
  engine->forward(lines);  // warm-up: primitives, weight reorders
  engine->set_profiling(true);
  double seconds = 0;
  for (auto _ : state) {
    const double before = engine->profile()[op_index].seconds;
    engine->forward(lines);
    const double t = engine->profile()[op_index].seconds - before;
    state.SetIterationTime(t);
    seconds += t;
  }
  state.counters["GFLOP/s"] = benchmark::Counter(flops.nominal * batch * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["useful_GFLOP/s"] = benchmark::Counter(
      flops.useful * batch * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  if (seconds > 0 && flops.useful > 0)
    state.counters["of_peak"] = flops.useful * batch * static_cast<double>(state.iterations()) /
                                seconds * 1e-9 / (fma_peak_gflops() * threads);
}

void register_benchmarks() {
  for (Isa isa : supported_isas())
    if (isa != Isa::generic)
      benchmark::RegisterBenchmark(("BM_FmaPeak/" + std::string(isa_name(isa))).c_str(), BM_FmaPeak,
                                   isa)
          ->MinTime(0.2);
  const auto isas = supported_isas();
  if (std::find(isas.begin(), isas.end(), Isa::avx512) != isas.end() &&
      kernels::kernel_table(Isa::avx512).lstm_step_int8)
    benchmark::RegisterBenchmark("BM_VnniPeak", BM_VnniPeak)->MinTime(0.2);
  for (Isa isa : supported_isas())
    for (bool int8 : {false, true}) {
      if (int8 && !kernels::kernel_table(isa).lstm_step_int8) continue;
      for (int hidden : {64, 96, 128})
        for (int lines : {1, 8})
          for (bool alternate : {false, true})
            benchmark::RegisterBenchmark(
                ("BM_LstmStep/" + std::string(isa_name(isa)) + (int8 ? "/int8" : "/fp32") + "/h" +
                 std::to_string(hidden) + "/b" + std::to_string(lines) +
                 (alternate ? "/alternating" : "/one_order"))
                    .c_str(),
                BM_LstmStep, isa, hidden, lines, alternate, int8)
                ->MinTime(0.2);
    }
  for (const auto& [name, model] : models()) {
    const auto& net = ModelAccess::network(*model);
    const auto flops = op_flops(net, net.input_height, kWidth);
    // Benchmark names from the engine's own op names ("conv 64->128 3x3").
    const auto ops = make_onednn_engine(*model, engine_options(1, "auto"))->profile();
    for (std::size_t i = 0; i < net.ops.size(); ++i) {
      if (op_as<ReluOp>(*net.ops[i]) || op_as<CollapseOp>(*net.ops[i]) || ops[i].folded) continue;
      std::string label = ops[i].name;
      std::replace(label.begin(), label.end(), ' ', '_');
      char prefix[16];
      std::snprintf(prefix, sizeof prefix, "%02zu_", i);
      const auto* cv = op_as<ConvOp>(*net.ops[i]);
      const bool winograd_shape = cv && i > 0 && cv->kernel_h == 3 && cv->kernel_w == 3 &&
                                  cv->stride_h == 1 && cv->stride_w == 1;
      for (auto [batch, threads] : {std::pair{1, 1}, std::pair{8, 2}})
        for (const char* algorithm : {"auto", "direct", "winograd"}) {
          if (std::string(algorithm) != "auto" && !winograd_shape) continue;
          benchmark::RegisterBenchmark(
              ("BM_Layer/" + name + "/" + prefix + label + "/b" + std::to_string(batch) + "/t" +
               std::to_string(threads) +
               (std::string(algorithm) == "auto" ? "" : "/" + std::string(algorithm)))
                  .c_str(),
              BM_Layer, name, i, flops[i], batch, threads, algorithm)
              ->UseManualTime()
              // A fixed count: each iteration runs the whole model, so a time
              // budget on one layer's (manual) time would run it thousands of times.
              ->Iterations(batch == 1 ? 30 : 10)
              ->Unit(benchmark::kMicrosecond);
        }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  load_models();
  std::fprintf(stderr, "fp32 FMA peak, one core: %.1f GFLOP/s\n", fma_peak_gflops());
  register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
