#include "layers/lstm/lstm_reference.hpp"

#include <cmath>

namespace ocrcore::detail {

namespace {

double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

// One direction of one layer over the whole sequence, writing hidden states
// into columns [column, column + N) of `out`.
void lstm_direction_reference(const Sequence& in, const LstmDirection& w, int hidden, bool reverse,
                              Sequence& out, int column) {
  const int N = hidden, D = in.features;
  std::vector<double> h(N, 0.0), c(N, 0.0), gates(4 * N);
  for (int step = 0; step < in.frames; ++step) {
    const int t = reverse ? in.frames - 1 - step : step;
    const float* x = in.row(t);
    for (int g = 0; g < 4 * N; ++g) {
      double acc = w.bias[g];
      for (int k = 0; k < D; ++k)
        acc += double(w.w_ih[static_cast<std::size_t>(g) * D + k]) * x[k];
      for (int k = 0; k < N; ++k)
        acc += double(w.w_hh[static_cast<std::size_t>(g) * N + k]) * h[k];
      gates[g] = acc;
    }
    for (int j = 0; j < N; ++j) {
      const double i = sigmoid(gates[j]);
      const double f = sigmoid(gates[N + j]);
      const double gg = std::tanh(gates[2 * N + j]);
      const double o = sigmoid(gates[3 * N + j]);
      c[j] = f * c[j] + i * gg;
      h[j] = o * std::tanh(c[j]);
      out.row(t)[column + j] = static_cast<float>(h[j]);
    }
  }
}

}  // namespace

Sequence lstm_reference(const Sequence& in, const LstmOp& op) {
  Sequence x = in;
  for (int l = 0; l < op.num_layers; ++l) {
    Sequence y(x.frames, op.hidden_size * op.directions());
    for (int d = 0; d < op.directions(); ++d)
      lstm_direction_reference(x, op.layers[l][d], op.hidden_size, d == 1, y, d * op.hidden_size);
    x = std::move(y);
  }
  return x;
}

void LstmOp::reference(ReferenceValue& v, const ReferenceArithmetic&) const {
  v.sequence = lstm_reference(v.sequence, *this);
}

}  // namespace ocrcore::detail
