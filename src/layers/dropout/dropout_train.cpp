// Dropout for training (identity in evaluation).

#include <algorithm>

#include "layers/dropout/dropout.hpp"
#include "training/data/seeding.hpp"
#include "training/train/layer_factory.hpp"
#include "training/train/parallel.hpp"

namespace ocrcore::train {

namespace {

class DropoutLayer final : public Layer {
 public:
  explicit DropoutLayer(const DropoutSpec& s) : p_(s.p) {}
  void set_seed(std::uint64_t seed) override { seed_ = seed; }
  void forward(Activations& in, Activations& out, Mode mode) override {
    out.zeros_like(in);
    active_ = mode == Mode::training && p_ > 0.0f;
    if (!active_) {
      out.values = in.values;
      return;
    }
    const float keep_scale = 1.0f / (1.0f - p_);
    const auto threshold =
        static_cast<std::uint64_t>(static_cast<double>(p_) * 18446744073709551615.0);
    const std::size_t n = in.values.size();
    mask_.resize(n);
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < n; ++i) {
      mask_[i] = data::mix_bits(seed_ ^ data::mix_bits(i)) >= threshold ? keep_scale : 0.0f;
      out.values[i] = in.values[i] * mask_[i];
    }
  }
  void backward(const Activations& in, const Activations& /*out*/, Activations& diff_out,
                Activations* diff_in) override {
    if (!diff_in) return;
    diff_in->zeros_like(in);
    for (std::size_t i = 0; i < in.values.size(); ++i)
      diff_in->values[i] = active_ ? diff_out.values[i] * mask_[i] : diff_out.values[i];
  }

 private:
  float p_;
  std::uint64_t seed_ = 0;
  bool active_ = false;
  std::vector<float> mask_;
};

}  // namespace

namespace {

std::unique_ptr<Layer> make_dropout_layer(const DropoutSpec& s) {
  return std::make_unique<DropoutLayer>(s);
}

}  // namespace

void register_dropout_train(TrainLayerRegistry& registry) {
  registry.add<DropoutSpec, make_dropout_layer>();
}

}  // namespace ocrcore::train
