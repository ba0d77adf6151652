// The linear layer in the oneDNN engine, on ocrcore's own dense kernel over
// all frames of the batch, in blocks of rows split between the threads.

#include <omp.h>

#include "layers/linear/linear_op.hpp"
#include "runtime/engines/onednn/onednn_batch.hpp"

namespace ocrcore::detail::onednn {

namespace {

// The weights transposed for kernels::DenseProjection.
struct PreparedDense final : PreparedOp {
  kernels::PackedDense dense;
  std::size_t bytes() const override {
    return (dense.w.size() + dense.bias.size()) * sizeof(float);
  }
};

class LinearExecutor final : public OpExecutor {
 public:
  LinearExecutor(const LinearOp& op, const kernels::PackedDense& weights)
      : op_(op), weights_(weights) {}

  Dataflow dataflow() const override { return Dataflow::frames_in_place; }
  void run(Context& c, const OpData& data) override {
    FrameBatch& f = *data.frames;
    const int rows = f.frames * f.lines;
    f.spare.resize(static_cast<std::size_t>(rows) * op_.out_features);
    // Blocks of rows, each a whole number of the kernel's 4-row tiles.
    constexpr int kRowsPerTask = 64;
    const int tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
    const auto& kernels = c.kernels;
#pragma omp parallel for num_threads(c.threads) if (c.threads > 1 && tasks > 1) schedule(static)
    for (int task = 0; task < tasks; ++task) {
      const int r0 = task * kRowsPerTask;
      kernels::DenseProjection p;
      p.weights = &weights_;
      p.x = f.values.data() + static_cast<std::size_t>(r0) * op_.in_features;
      p.x_stride = op_.in_features;
      p.rows = std::min(kRowsPerTask, rows - r0);
      p.out = f.spare.data() + static_cast<std::size_t>(r0) * op_.out_features;
      p.out_stride = op_.out_features;
      p.relu = op_.relu;
      kernels.dense(p);
    }
    f.values.swap(f.spare);
    f.features = op_.out_features;
  }
  std::string name() const override {
    return "linear " + std::to_string(op_.in_features) + "->" + std::to_string(op_.out_features);
  }

 private:
  const LinearOp& op_;
  const kernels::PackedDense& weights_;
};

std::unique_ptr<PreparedOp> prepare_linear(const Op& op, const PrepareContext&) {
  const auto& lin = *op_as<LinearOp>(op);
  auto prepared = std::make_unique<PreparedDense>();
  prepared->dense =
      kernels::pack_dense(lin.weight.data(), lin.bias.data(), lin.out_features, lin.in_features);
  return prepared;
}

std::unique_ptr<OpExecutor> make_linear_executor(const PreparedNetwork& prepared, std::size_t op,
                                                 OpPlacement) {
  return std::make_unique<LinearExecutor>(*op_as<LinearOp>(*prepared.network().ops.at(op)),
                                          prepared.op<PreparedDense>(op).dense);
}

}  // namespace

void register_linear_onednn(ExecutorRegistry& registry) {
  registry.add<LinearOp>(make_linear_executor, prepare_linear);
}

}  // namespace ocrcore::detail::onednn
