// The LSTM in the oneDNN engine, on ocrcore's own step kernels: the input
// projection of every frame of every line in both directions as one GEMM
// (dnnl_sgemm, or the int8 projection kernel), then one step per frame over
// the lines still running (a prefix: lines are sorted widest first); a
// backward direction starts each line at its own last frame.

#include <omp.h>

#include <array>

#include "layers/onednn_executors.hpp"

namespace ocrcore::detail::onednn {

namespace {

void sgemm(char transa, char transb, int m, int n, int k, const float* a, int lda, const float* b,
           int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  dnnl_status_t st = dnnl_sgemm(transa, transb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success)
    throw Error("oneDNN sgemm failed (status " + std::to_string(st) + ")", ErrorKind::internal);
}

class LstmExecutor final : public OpExecutor {
 public:
  LstmExecutor(const LstmOp& op, const std::vector<PreparedNetwork::LstmLayer>& packed, bool int8)
      : op_(op), packed_(packed), int8_(int8) {}

  void run(Context& c) override {
    FrameBatch& f = c.frames;
    const int N = op_.hidden_size, dirs = op_.directions(), G = 4 * N * dirs;
    const std::size_t rows = static_cast<std::size_t>(f.frames) * f.lines;
    for (int l = 0; l < op_.num_layers; ++l) {
      const PreparedNetwork::LstmLayer& p = packed_[l];
      const int Din = op_.layer_input(l);
      // Input projection of every frame of every line, both directions: one
      // GEMM (the step kernel adds the biases).
      f.gates.resize(rows * G);
      if (int8_) {
        kernels::Int8Projection proj;
        proj.weights = &p.w_ih_int8;
        proj.x = f.values.data();
        proj.x_stride = Din;
        proj.rows = static_cast<int>(rows);
        proj.out = f.gates.data();
        proj.out_stride = G;
        c.kernels.int8_projection(proj);
      } else {
        sgemm('N', 'T', static_cast<int>(rows), G, Din, f.values.data(), Din, p.w_ih.data(), Din,
              0.0f, f.gates.data(), G);
      }
      f.spare.assign(rows * N * dirs, 0.0f);
      for (int d = 0; d < dirs; ++d) {
        DirectionState& st = state_[d];
        st.h.assign(static_cast<std::size_t>(f.lines) * N, 0.0f);
        st.c.assign(static_cast<std::size_t>(f.lines) * N, 0.0f);
        const int padded = int8_ ? p.recurrent_int8[d].padded : p.recurrent[d].padded;
        st.scratch.resize(static_cast<std::size_t>(kernels::kStepLines) * padded);
      }
      // The two directions are independent: one thread each.
#pragma omp parallel for num_threads(dirs) if (c.threads > 1 && dirs > 1) schedule(static, 1)
      for (int d = 0; d < dirs; ++d)
        run_direction(c, p, d);
      f.values.swap(f.spare);
      f.features = N * dirs;
    }
  }
  std::string name() const override {
    return "lstm " + std::to_string(op_.num_layers) + "x" + std::to_string(op_.hidden_size);
  }

 private:
  struct DirectionState {
    std::vector<float> h, c, scratch;
  };

  void run_direction(Context& c, const PreparedNetwork::LstmLayer& p, int d) {
    FrameBatch& f = c.frames;
    const int N = op_.hidden_size, dirs = op_.directions(), G = 4 * N * dirs;
    DirectionState& s = state_[d];  // zeroed and sized by run()
    const auto run_step = int8_ ? c.kernels.lstm_step_int8 : c.kernels.lstm_step;
    kernels::LstmStep step;
    step.weights = &p.recurrent[d];
    step.weights_int8 = &p.recurrent_int8[d];
    step.gates_stride = G;
    step.h = s.h.data();
    step.c = s.c.data();
    step.y_stride = static_cast<std::size_t>(N) * dirs;
    step.scratch = s.scratch.data();
    const int T = f.frames, B = f.lines;
    for (int i = 0; i < T; ++i) {
      // Backward: a line starts at its own last frame, with zero state.
      const int t = d == 0 ? i : T - 1 - i;
      step.lines = f.active_at(t);
      step.reverse_columns = i % 2 == 1;  // see LstmStep: keeps part of W_hh in L1
      step.gates_in = f.gates.data() + static_cast<std::size_t>(t) * B * G + d * 4 * N;
      step.y = f.spare.data() + static_cast<std::size_t>(t) * B * N * dirs + d * N;
      run_step(step);
    }
  }

  const LstmOp& op_;
  const std::vector<PreparedNetwork::LstmLayer>& packed_;
  bool int8_;
  std::array<DirectionState, 2> state_;
};

}  // namespace

std::unique_ptr<OpExecutor> make_lstm_executor(const PreparedNetwork& prepared, std::size_t op) {
  return std::make_unique<LstmExecutor>(std::get<LstmOp>(prepared.network().ops.at(op)),
                                        prepared.lstm(op),
                                        prepared.lstm_precision() == Precision::int8);
}

}  // namespace ocrcore::detail::onednn
