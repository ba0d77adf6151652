// The network's last step (log-softmax over each frame) and the factory that
// builds a layer for each architecture entry (src/layers/<kind>/<kind>_train.cpp).

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/overloaded.hpp"
#include "ocrcore/error.hpp"
#include "train/layer_factory.hpp"
#include "train/parallel.hpp"

namespace ocrcore::train {

namespace {

class LogSoftmaxLayer final : public Layer {
 public:
  void forward(Activations& in, Activations& out, Mode /*mode*/) override {
    out.zeros_like(in);
    const int K = in.features;
    const std::size_t rows = in.values.size() / K;
#pragma omp parallel for schedule(static)
    for (std::size_t r = 0; r < rows; ++r) {
      const float* x = in.values.data() + r * K;
      float* y = out.values.data() + r * K;
      const float mx = *std::max_element(x, x + K);
      double sum = 0;
      for (int k = 0; k < K; ++k)
        sum += std::exp(static_cast<double>(x[k] - mx));
      // (x - max) - log(sum): max + log(sum) rounds log(sum) away for huge logits.
      const auto log_sum = static_cast<float>(std::log(sum));
      for (int k = 0; k < K; ++k)
        y[k] = (x[k] - mx) - log_sum;
    }
  }
  void backward(const Activations& /*in*/, const Activations& out, Activations& diff_out,
                Activations* diff_in) override {
    if (!diff_in) return;
    diff_in->zeros_like(out);
    const int K = out.features;
    const std::size_t rows = out.values.size() / K;
#pragma omp parallel for schedule(static)
    for (std::size_t r = 0; r < rows; ++r) {
      const float* y = out.values.data() + r * K;
      const float* dy = diff_out.values.data() + r * K;
      float* dx = diff_in->values.data() + r * K;
      double sum = 0;
      for (int k = 0; k < K; ++k)
        sum += dy[k];
      for (int k = 0; k < K; ++k)
        dx[k] = dy[k] - static_cast<float>(std::exp(static_cast<double>(y[k])) * sum);
    }
    diff_in->fill_padding(0.0f);
  }
};

}  // namespace

std::unique_ptr<Layer> make_log_softmax() {
  return std::make_unique<LogSoftmaxLayer>();
}

std::unique_ptr<Layer> make_layer(const LayerSpec& spec) {
  using Made = std::unique_ptr<Layer>;
  // Every kind is handled: a new one does not compile until it is.
  return std::visit(
      detail::Overloaded{
          [](const Conv2dSpec& s) -> Made { return make_conv_layer(s); },
          [](const TuckerConvSpec& s) -> Made { return make_tucker_conv_layer(s); },
          [](const BatchNormSpec& s) -> Made { return make_batch_norm_layer(s, false); },
          [](const ReluSpec&) -> Made { return make_relu_layer(); },
          [](const MaxPoolSpec& s) -> Made { return make_max_pool_layer(s); },
          [](const DropoutSpec& s) -> Made { return make_dropout_layer(s); },
          [](const CollapseSpec&) -> Made { return make_collapse_layer(); },
          [](const LstmSpec& s) -> Made { return make_lstm_layer(s); },
          [](const LinearSpec& s) -> Made { return make_linear_layer(s); },
      },
      spec);
}

}  // namespace ocrcore::train
