#include <omp.h>

#include <algorithm>
#include <exception>
#include <map>

#include "ocrcore/error.hpp"
#include "runtime/engines/engine.hpp"
#include "runtime/engines/reference/log_softmax_reference.hpp"
#include "runtime/graph/quantization.hpp"

namespace ocrcore::detail {

LogProbs reference_forward(const CompiledNetwork& net, const LineTensor& line,
                           const std::map<std::size_t, Int8Rows>& int8,
                           const std::vector<bool>& bf16, const ReferenceObserver& observe) {
  ReferenceValue value;
  FeatureMap& map = value.map;
  map = FeatureMap(1, line.height, std::max(line.width, net.min_width));
  for (int y = 0; y < line.height; ++y)
    std::copy_n(line.pixels.begin() + static_cast<std::ptrdiff_t>(y) * line.width, line.width,
                map.values.begin() + static_cast<std::ptrdiff_t>(y) * map.width);
  for (std::size_t i = 0; i < net.ops.size(); ++i) {
    if (observe) observe(i, value.is_sequence ? value.sequence.values : value.map.values);
    ReferenceArithmetic arithmetic;
    arithmetic.bf16 = i < bf16.size() && bf16[i];
    if (const auto q = int8.find(i); q != int8.end()) arithmetic.int8 = &q->second;
    net.ops[i]->reference(value, arithmetic);
  }
  Sequence& seq = value.sequence;
  log_softmax_reference(seq);
  return LogProbs{seq.frames, seq.features, std::move(seq.values)};
}

namespace {

// Runs each line on its own, at its own width: no padding, so batch
// invariance holds by construction and the result is the oracle.
class ReferenceEngine final : public Engine {
 public:
  ReferenceEngine(const CompiledNetwork& network, int threads, Precision conv_precision)
      : net_(network), threads_(std::max(1, threads)) {
    if (conv_precision == Precision::int8) {
      const std::vector<bool> int8 = int8_convolutions(net_);
      for (std::size_t i = 0; i < int8.size(); ++i)
        if (int8[i]) int8_.emplace(i, net_.ops[i]->int8_weights());
    } else if (conv_precision == Precision::bf16) {
      bf16_ = bf16_convolutions(net_);
    }
  }

  std::vector<LogProbs> forward(std::span<const LineTensor> lines) override {
    check_line_heights(net_, lines);
    std::vector<LogProbs> out(lines.size());
    std::exception_ptr error;
#pragma omp parallel for num_threads(threads_) schedule(dynamic, 1)
    for (std::size_t i = 0; i < lines.size(); ++i) {
      try {
        out[i] = run_line(lines[i]);
      } catch (...) {
#pragma omp critical
        error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    return out;
  }

 private:
  LogProbs run_line(const LineTensor& line) const {
    return reference_forward(net_, line, int8_, bf16_);
  }

  const CompiledNetwork& net_;
  int threads_;
  std::map<std::size_t, Int8Rows> int8_;  // by op: the int8 convolutions
  std::vector<bool> bf16_;                // by op: the bf16 convolutions
};

}  // namespace

std::unique_ptr<Engine> make_reference_engine(const CompiledNetwork& network, int threads,
                                              Precision conv_precision) {
  return std::make_unique<ReferenceEngine>(network, threads, conv_precision);
}

std::vector<float> largest_op_inputs(const CompiledNetwork& network,
                                     std::span<const LineTensor> lines, int threads) {
  check_line_heights(network, lines);
  std::vector<float> largest(network.ops.size(), 0.0f);
  std::exception_ptr error;
#pragma omp parallel num_threads(std::max(1, threads))
  {
    std::vector<float> mine(network.ops.size(), 0.0f);
#pragma omp for schedule(dynamic, 1)
    for (std::size_t i = 0; i < lines.size(); ++i) {
      try {
        reference_forward(network, lines[i], {}, {},
                          [&](std::size_t op, const std::vector<float>& in) {
                            for (float v : in)
                              mine[op] = std::max(mine[op], v);  // a NaN never wins
                          });
      } catch (...) {
#pragma omp critical
        error = std::current_exception();
      }
    }
#pragma omp critical
    for (std::size_t op = 0; op < largest.size(); ++op)
      largest[op] = std::max(largest[op], mine[op]);
  }
  if (error) std::rethrow_exception(error);
  return largest;
}

}  // namespace ocrcore::detail
