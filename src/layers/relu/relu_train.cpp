// ReLU for training.

#include <algorithm>

#include "layers/relu/relu.hpp"
#include "training/train/layer_factory.hpp"
#include "training/train/parallel.hpp"

namespace ocrcore::train {

namespace {

void relu_forward_kernel(const float* __restrict x, float* __restrict y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward_kernel(const float* __restrict y, float* __restrict dy, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

class ReluLayer final : public Layer {
 public:
  void forward(Activations& in, Activations& out, Mode /*mode*/) override {
    out.kind = in.kind;
    out.batch = in.batch, out.channels = in.channels, out.height = in.height, out.width = in.width;
    out.frames = in.frames, out.features = in.features;
    out.lengths = in.lengths;
    out.values.resize(in.values.size());
    parallel_chunks(in.values.size(), [&](std::size_t b, std::size_t e) {
      relu_forward_kernel(in.values.data() + b, out.values.data() + b, e - b);
    });
  }
  void backward(const Activations& /*in*/, const Activations& out, Activations& diff_out,
                Activations* diff_in) override {
    if (!diff_in) return;
    // In place on diff_out's storage (two memory streams instead of three);
    // the swap leaves diff_out a buffer of the same size for the next step.
    std::swap(*diff_in, diff_out);
    parallel_chunks(out.values.size(), [&](std::size_t b, std::size_t e) {
      relu_backward_kernel(out.values.data() + b, diff_in->values.data() + b, e - b);
    });
  }
};

}  // namespace

namespace {

std::unique_ptr<Layer> make_relu_layer(const ReluSpec& /*spec*/) {
  return std::make_unique<ReluLayer>();
}

}  // namespace

void register_relu_train(TrainLayerRegistry& registry) {
  registry.add<ReluSpec, make_relu_layer>();
}

}  // namespace ocrcore::train
