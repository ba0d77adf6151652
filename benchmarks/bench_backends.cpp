// Reference backend vs oneDNN backend on the same random teacher-sized model
// and lines, measured side by side in one run. Prints Google Benchmark's table,
// then the speed ratios (medians of the repetitions).
//
//   build/benchmarks/bench_backends [--benchmark_repetitions=5]

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>

#include "ocrcore/ocrcore.hpp"
#include "test_util.hpp"

using namespace ocrcore;

namespace {

constexpr int kWidth = 256;  // normalised line width (64 frames); reference is slow

std::shared_ptr<const Model> teacher_sized_model() {
  static auto model = [] {
    auto arch =
        Architecture::from_json(test::read_bytes(OCRCORE_BENCH_DIR "/arch/teacher-sized.json"));
    return test::random_model(arch, 42);
  }();
  return model;
}

std::vector<LineTensor> lines(int count) {
  std::mt19937 rng(7);
  std::vector<LineTensor> out;
  for (int i = 0; i < count; ++i)
    out.push_back(test::random_line(32, kWidth, rng));
  return out;
}

void run(benchmark::State& state, Backend backend) {
  const int batch = static_cast<int>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  RecognizerOptions options;
  options.backend = backend;
  options.threads = threads;
  Recognizer rec(teacher_sized_model(), options);
  auto input = lines(batch);
  rec.forward(input);  // warm-up: primitives, weight reorders
  for (auto _ : state)
    benchmark::DoNotOptimize(rec.forward(input));
  const double flops = teacher_sized_model()->architecture().flops(kWidth);
  state.counters["lines/s"] =
      benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * batch * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Reference(benchmark::State& s) {
  run(s, Backend::reference);
}
void BM_Onednn(benchmark::State& s) {
  run(s, Backend::onednn);
}

// args: batch, threads
BENCHMARK(BM_Reference)->Args({1, 1})->Args({4, 2})->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Onednn)->Args({1, 1})->Args({4, 2})->Unit(benchmark::kMillisecond)->MinTime(0.5);

// Collects the median time per configuration to print the ratios.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  explicit RatioReporter(OutputOptions options) : ConsoleReporter(options) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "median") continue;
      const std::string backend = r.run_name.function_name, config = r.run_name.args;
      const double t = r.GetAdjustedRealTime();
      if (r.run_type == Run::RT_Aggregate || !times_[config].count(backend))
        times_[config][backend] = t;
    }
  }
  void PrintRatios() const {
    std::printf("\nteacher-sized model (%lld parameters, %.2f GFLOP per 32x%d line)\n",
                static_cast<long long>(teacher_sized_model()->parameter_count()),
                teacher_sized_model()->architecture().flops(kWidth) * 1e-9, kWidth);
    std::printf("%-22s %14s %14s %10s\n", "batch/threads (median)", "reference ms", "onednn ms",
                "speedup");
    for (const auto& [config, t] : times_)
      if (t.count("BM_Reference") && t.count("BM_Onednn"))
        std::printf("%-22s %14.1f %14.2f %9.1fx\n", config.c_str(), t.at("BM_Reference"),
                    t.at("BM_Onednn"), t.at("BM_Reference") / t.at("BM_Onednn"));
  }

 private:
  std::map<std::string, std::map<std::string, double>> times_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // Colour only on a terminal, so saved results stay plain text.
  RatioReporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                               : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios();
  benchmark::Shutdown();
  return 0;
}
