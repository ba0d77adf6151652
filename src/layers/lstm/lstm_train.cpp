// Stacked (bi)directional LSTM for training. Time-major sequences make each
// time step's lines one contiguous block, so the input projection of all
// frames is one GEMM per direction and each recurrent step is one GEMM over
// the batch. Lines shorter than the batch's longest have their state held at
// zero outside their frames, which keeps padding out of their results and
// gradients.

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "layers/lstm/lstm.hpp"
#include "ocrcore/error.hpp"
#include "training/train/gemm.hpp"
#include "training/train/layer_factory.hpp"

namespace ocrcore::train {

namespace {

inline float sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}

class LstmLayer final : public Layer {
 public:
  explicit LstmLayer(const LstmSpec& s) : s_(s), dirs_(s.bidirectional ? 2 : 1) {
    const int H = s.hidden_size;
    for (int l = 0; l < s.num_layers; ++l) {
      const int in = l == 0 ? s.input_size : H * dirs_;
      for (int d = 0; d < dirs_; ++d) {
        const LstmTensorNames names = s.tensor_names(l, d);
        Weights w;
        w.w_ih = Parameter(names.weight_ih, {4 * H, in});
        w.w_hh = Parameter(names.weight_hh, {4 * H, H});
        w.b_ih = Parameter(names.bias_ih, {4 * H});
        w.b_hh = Parameter(names.bias_hh, {4 * H});
        weights_.push_back(std::move(w));
      }
    }
    outputs_.resize(s.num_layers);
    gates_.resize(weights_.size());
    cells_.resize(weights_.size());
  }

  std::vector<Parameter*> parameters() override {
    std::vector<Parameter*> all;
    for (auto& w : weights_)
      for (Parameter* p : {&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh})
        all.push_back(p);
    return all;
  }

  // PyTorch's uniform(-1/sqrt(H), 1/sqrt(H)) weights, zero biases but the
  // input bias of the forget gates, 1: they start open, so that gradients
  // flow through time early on.
  void initialize(std::mt19937_64& rng) override {
    const int H = s_.hidden_size;
    const float bound = 1.0f / std::sqrt(static_cast<float>(H));
    std::uniform_real_distribution<float> u(-bound, bound);
    for (auto& w : weights_) {
      for (Parameter* p : {&w.w_ih, &w.w_hh})
        for (float& x : p->value)
          x = u(rng);
      std::fill(w.b_ih.value.begin(), w.b_ih.value.end(), 0.0f);
      std::fill(w.b_ih.value.begin() + H, w.b_ih.value.begin() + 2 * H, 1.0f);
      std::fill(w.b_hh.value.begin(), w.b_hh.value.end(), 0.0f);
    }
  }

  void forward(Activations& in, Activations& out, Mode /*mode*/) override {
    if (in.kind != Activations::Kind::sequences || in.features != s_.input_size)
      throw Error("lstm " + s_.name + ": expected " + std::to_string(s_.input_size) +
                  " features per frame, got " + std::to_string(in.features));
    const Activations* x = &in;
    for (int l = 0; l < s_.num_layers; ++l) {
      Activations& y = l + 1 == s_.num_layers ? out : outputs_[l];
      y.resize_sequences(x->frames, x->batch, s_.hidden_size * dirs_);
      y.lengths = x->lengths;
#pragma omp parallel for num_threads(std::min(dirs_, omp_get_max_threads())) schedule(static, 1)
      for (int d = 0; d < dirs_; ++d)
        forward_direction(l, d, *x, y);
      x = &y;
    }
  }

  void backward(const Activations& in, const Activations& out, Activations& diff_out,
                Activations* diff_in) override {
    Activations dy = diff_out;  // gradient of the current layer's output
    for (int l = s_.num_layers - 1; l >= 0; --l) {
      const Activations& x = l == 0 ? in : outputs_[l - 1];
      const Activations& y = l + 1 == s_.num_layers ? out : outputs_[l];
      const bool need_dx = l > 0 || diff_in != nullptr;
      dx_parts_.resize(dirs_);
#pragma omp parallel for num_threads(std::min(dirs_, omp_get_max_threads())) schedule(static, 1)
      for (int d = 0; d < dirs_; ++d)
        backward_direction(l, d, x, y, dy, need_dx ? &dx_parts_[d] : nullptr);
      if (!need_dx) break;
      Activations& dx = l == 0 ? *diff_in : dy_below_;
      dx.zeros_like(x);
      for (int d = 0; d < dirs_; ++d)
        for (std::size_t i = 0; i < dx.values.size(); ++i)
          dx.values[i] += dx_parts_[d][i];
      dx.fill_padding(0.0f);
      if (l > 0) dy = dx;
    }
  }

 private:
  struct Weights {
    Parameter w_ih, w_hh, b_ih, b_hh;
  };

  // One direction of layer l over all frames; writes its half of y.
  void forward_direction(int l, int d, const Activations& x, Activations& y) {
    const int H = s_.hidden_size, G = 4 * H, T = x.frames, N = x.batch, Din = x.features;
    const int Dout = y.features;
    Weights& w = weights_[l * dirs_ + d];
    std::vector<float>& gates = gates_[l * dirs_ + d];
    std::vector<float>& cells = cells_[l * dirs_ + d];
    gates.resize(static_cast<std::size_t>(T) * N * G);
    cells.assign(static_cast<std::size_t>(T) * N * H, 0.0f);
    // All frames' input projections at once, then the biases.
    gemm(false, true, T * N, G, Din, 1.0f, x.values.data(), Din, w.w_ih.value.data(), Din, 0.0f,
         gates.data(), G);
    std::vector<float> bias(G);
    for (int g = 0; g < G; ++g)
      bias[g] = w.b_ih.value[g] + w.b_hh.value[g];
    for (std::size_t r = 0; r < static_cast<std::size_t>(T) * N; ++r)
      for (int g = 0; g < G; ++g)
        gates[r * G + g] += bias[g];
    for (int s = 0; s < T; ++s) {
      const int t = d == 0 ? s : T - 1 - s;
      const int tp = d == 0 ? t - 1 : t + 1;
      float* gt = gates.data() + static_cast<std::size_t>(t) * N * G;
      if (s > 0)
        gemm(false, true, N, G, H, 1.0f,
             y.values.data() + static_cast<std::size_t>(tp) * N * Dout + d * H, Dout,
             w.w_hh.value.data(), H, 1.0f, gt, G);
      for (int n = 0; n < N; ++n) {
        float* gr = gt + static_cast<std::size_t>(n) * G;
        float* c = cells.data() + (static_cast<std::size_t>(t) * N + n) * H;
        float* h = y.values.data() + (static_cast<std::size_t>(t) * N + n) * Dout + d * H;
        if (t >= x.lengths[n]) {
          std::fill_n(gr, G, 0.0f);
          std::fill_n(h, H, 0.0f);
          continue;  // cell stays 0
        }
        const float* c_prev =
            s > 0 ? cells.data() + (static_cast<std::size_t>(tp) * N + n) * H : nullptr;
        for (int j = 0; j < H; ++j) {
          const float i = sigmoid(gr[j]);
          const float f = sigmoid(gr[H + j]);
          const float g = std::tanh(gr[2 * H + j]);
          const float o = sigmoid(gr[3 * H + j]);
          gr[j] = i, gr[H + j] = f, gr[2 * H + j] = g, gr[3 * H + j] = o;
          c[j] = f * (c_prev ? c_prev[j] : 0.0f) + i * g;
          h[j] = o * std::tanh(c[j]);
        }
      }
    }
  }

  void backward_direction(int l, int d, const Activations& x, const Activations& y,
                          const Activations& dy, std::vector<float>* dx) {
    const int H = s_.hidden_size, G = 4 * H, T = x.frames, N = x.batch, Din = x.features;
    const int Dout = y.features;
    Weights& w = weights_[l * dirs_ + d];
    const std::vector<float>& gates = gates_[l * dirs_ + d];
    const std::vector<float>& cells = cells_[l * dirs_ + d];
    std::vector<float> dgates(static_cast<std::size_t>(T) * N * G, 0.0f);
    std::vector<float> dh_rec(static_cast<std::size_t>(N) * H, 0.0f);
    std::vector<float> dc_rec(static_cast<std::size_t>(N) * H, 0.0f);
    for (int s = T - 1; s >= 0; --s) {
      const int t = d == 0 ? s : T - 1 - s;
      const int tp = d == 0 ? t - 1 : t + 1;
      float* dgt = dgates.data() + static_cast<std::size_t>(t) * N * G;
      for (int n = 0; n < N; ++n) {
        float* dcr = dc_rec.data() + static_cast<std::size_t>(n) * H;
        if (t >= x.lengths[n]) {
          std::fill_n(dcr, H, 0.0f);
          continue;  // dgates stay 0
        }
        const float* gr = gates.data() + (static_cast<std::size_t>(t) * N + n) * G;
        const float* c = cells.data() + (static_cast<std::size_t>(t) * N + n) * H;
        const float* c_prev =
            s > 0 ? cells.data() + (static_cast<std::size_t>(tp) * N + n) * H : nullptr;
        const float* dyr = dy.values.data() + (static_cast<std::size_t>(t) * N + n) * Dout + d * H;
        const float* dhr = dh_rec.data() + static_cast<std::size_t>(n) * H;
        float* dg = dgt + static_cast<std::size_t>(n) * G;
        for (int j = 0; j < H; ++j) {
          const float i = gr[j], f = gr[H + j], g = gr[2 * H + j], o = gr[3 * H + j];
          const float tc = std::tanh(c[j]);
          const float dh = dyr[j] + dhr[j];
          const float dc = dh * o * (1.0f - tc * tc) + dcr[j];
          dg[j] = dc * g * i * (1.0f - i);
          dg[H + j] = dc * (c_prev ? c_prev[j] : 0.0f) * f * (1.0f - f);
          dg[2 * H + j] = dc * i * (1.0f - g * g);
          dg[3 * H + j] = dh * tc * o * (1.0f - o);
          dcr[j] = dc * f;
        }
      }
      if (s > 0)
        gemm(false, false, N, H, G, 1.0f, dgt, G, w.w_hh.value.data(), H, 0.0f, dh_rec.data(), H);
    }
    const std::size_t TN = static_cast<std::size_t>(T) * N;
    if (!w.w_hh.frozen && T > 1) {
      // Sum over steps of dgates(t)^T h(previous step): one GEMM over shifted rows.
      const float* dg0 = d == 0 ? dgates.data() + static_cast<std::size_t>(N) * G : dgates.data();
      const float* h0 = y.values.data() + d * H + (d == 0 ? 0 : static_cast<std::size_t>(N) * Dout);
      gemm(true, false, G, H, (T - 1) * N, 1.0f, dg0, G, h0, Dout, 1.0f, w.w_hh.grad.data(), H);
    }
    if (!w.w_ih.frozen)
      gemm(true, false, G, Din, static_cast<int>(TN), 1.0f, dgates.data(), G, x.values.data(), Din,
           1.0f, w.w_ih.grad.data(), Din);
    if (!w.b_ih.frozen || !w.b_hh.frozen) {
      std::vector<double> sum(G, 0.0);
      for (std::size_t r = 0; r < TN; ++r)
        for (int g = 0; g < G; ++g)
          sum[g] += dgates[r * G + g];
      for (int g = 0; g < G; ++g) {
        if (!w.b_ih.frozen) w.b_ih.grad[g] += static_cast<float>(sum[g]);
        if (!w.b_hh.frozen) w.b_hh.grad[g] += static_cast<float>(sum[g]);
      }
    }
    if (dx) {
      dx->resize(TN * Din);
      gemm(false, false, static_cast<int>(TN), Din, G, 1.0f, dgates.data(), G, w.w_ih.value.data(),
           Din, 0.0f, dx->data(), Din);
    }
  }

  LstmSpec s_;
  int dirs_;
  std::vector<Weights> weights_;           // [layer * dirs + d]
  std::vector<Activations> outputs_;       // outputs of layers below the last
  std::vector<std::vector<float>> gates_;  // post-activation i, f, g, o per frame
  std::vector<std::vector<float>> cells_;  // cell state per frame
  std::vector<std::vector<float>> dx_parts_;
  Activations dy_below_;
};

}  // namespace

namespace {

std::unique_ptr<Layer> make_lstm_layer(const LstmSpec& s) {
  return std::make_unique<LstmLayer>(s);
}

}  // namespace

void register_lstm_train(TrainLayerRegistry& registry) {
  registry.add<LstmSpec, make_lstm_layer>();
}

}  // namespace ocrcore::train
