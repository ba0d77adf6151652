// The LSTM in the oneDNN engine, on ocrcore's own step kernels: the input
// projection of every frame of every line in both directions as one GEMM
// (dnnl_sgemm, or the int8 projection kernel), then one step per frame over
// the lines still running (a prefix: lines are sorted widest first); a
// backward direction starts each line at its own last frame.

#include <omp.h>

#include <array>

#include "layers/lstm/lstm_op.hpp"
#include "runtime/engines/onednn/onednn_batch.hpp"

namespace ocrcore::detail::onednn {

namespace {

void sgemm(char transa, char transb, int m, int n, int k, const float* a, int lda, const float* b,
           int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  dnnl_status_t st = dnnl_sgemm(transa, transb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success)
    throw Error("oneDNN sgemm failed (status " + std::to_string(st) + ")", ErrorKind::internal);
}

// Each layer's matrices as the step and projection kernels take them.
struct LstmLayer {
  std::vector<float> w_ih;            // both directions stacked: [dirs * 4N][input]
  kernels::PackedInt8Rows w_ih_int8;  // int8 LSTMs: the same quantised (w_ih then empty)
  std::array<kernels::PackedRecurrent, 2> recurrent;           // fp32 steps
  std::array<kernels::PackedRecurrentInt8, 2> recurrent_int8;  // int8 steps
};

struct PreparedLstm final : PreparedOp {
  std::vector<LstmLayer> layers;
  std::size_t bytes() const override {
    std::size_t total = 0;
    for (const auto& l : layers) {
      total += vector_bytes(l.w_ih) + vector_bytes(l.w_ih_int8.w) +
               vector_bytes(l.w_ih_int8.scale) + vector_bytes(l.w_ih_int8.zero_term);
      for (const auto& r : l.recurrent)
        total += vector_bytes(r.w) + vector_bytes(r.bias);
      for (const auto& r : l.recurrent_int8)
        total += vector_bytes(r.w) + vector_bytes(r.scale) + vector_bytes(r.zero_term) +
                 vector_bytes(r.bias);
    }
    return total;
  }
};

std::unique_ptr<PreparedOp> prepare_lstm(const Op& op, const PrepareContext& context) {
  const auto& l = *op_as<LstmOp>(op);
  const bool int8 = context.lstm_precision == Precision::int8;
  auto prepared = std::make_unique<PreparedLstm>();
  for (int layer = 0; layer < l.num_layers; ++layer) {
    LstmLayer p;
    for (int d = 0; d < l.directions(); ++d) {
      const auto& w = l.layers[layer][d];
      if (int8)
        p.recurrent_int8[d] =
            kernels::pack_recurrent_int8(w.w_hh.data(), w.bias.data(), l.hidden_size);
      else
        p.recurrent[d] = kernels::pack_recurrent(w.w_hh.data(), w.bias.data(), l.hidden_size);
      p.w_ih.insert(p.w_ih.end(), w.w_ih.begin(), w.w_ih.end());
    }
    if (int8) {
      p.w_ih_int8 = kernels::pack_int8_rows(p.w_ih.data(), 4 * l.hidden_size * l.directions(),
                                            l.layer_input(layer));
      p.w_ih = {};  // only the int8 form runs
    }
    prepared->layers.push_back(std::move(p));
  }
  return prepared;
}

class LstmExecutor final : public OpExecutor {
 public:
  LstmExecutor(const LstmOp& op, const std::vector<LstmLayer>& packed, bool int8)
      : op_(op), packed_(packed), int8_(int8) {}

  Dataflow dataflow() const override { return Dataflow::frames_in_place; }
  void run(Context& c, const OpData& data) override {
    FrameBatch& f = *data.frames;
    const int N = op_.hidden_size, dirs = op_.directions(), G = 4 * N * dirs;
    const std::size_t rows = static_cast<std::size_t>(f.frames) * f.lines;
    for (int l = 0; l < op_.num_layers; ++l) {
      const LstmLayer& p = packed_[l];
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
        run_direction(c, f, p, d);
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

  void run_direction(Context& c, FrameBatch& f, const LstmLayer& p, int d) {
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
  const std::vector<LstmLayer>& packed_;
  bool int8_;
  std::array<DirectionState, 2> state_;
};

std::unique_ptr<OpExecutor> make_lstm_executor(const PreparedNetwork& prepared, std::size_t op,
                                               OpPlacement) {
  return std::make_unique<LstmExecutor>(*op_as<LstmOp>(*prepared.network().ops.at(op)),
                                        prepared.op<PreparedLstm>(op).layers,
                                        prepared.lstm_precision() == Precision::int8);
}

}  // namespace

void register_lstm_onednn(ExecutorRegistry& registry) {
  registry.add<LstmOp>(make_lstm_executor, prepare_lstm);
}

}  // namespace ocrcore::detail::onednn
