// The network's last step (log-softmax over each frame), the layers' default
// initialisation, and the registry that builds a layer for each architecture
// entry (src/layers/<kind>/<kind>_train.cpp).

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "ocrcore/error.hpp"
#include "training/train/layer_factory.hpp"
#include "training/train/parallel.hpp"

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

void Layer::initialize(std::mt19937_64& rng) {
  for (Parameter* p : parameters()) {
    auto& v = p->value;
    if (p->shape.size() == 4) {  // convolution weights [out][in][kh][kw]
      const auto fan_in = static_cast<float>(p->shape[1] * p->shape[2] * p->shape[3]);
      std::normal_distribution<float> nd(0.0f, std::sqrt(2.0f / fan_in));
      for (float& x : v)
        x = nd(rng);
    } else if (p->shape.size() == 2) {  // linear [out][in]
      const auto bound = 1.0f / std::sqrt(static_cast<float>(p->shape[1]));
      std::uniform_real_distribution<float> u(-bound, bound);
      for (float& x : v)
        x = u(rng);
    } else {
      std::fill(v.begin(), v.end(), 0.0f);  // biases
    }
  }
}

void TrainLayerRegistry::add(std::string_view type, Make maker) {
  for (const auto& entry : entries_)
    if (entry.first == type)
      throw Error("training layer of kind '" + std::string(type) + "' registered twice",
                  ErrorKind::internal);
  entries_.emplace_back(type, maker);
}

std::unique_ptr<Layer> TrainLayerRegistry::make(const LayerSpec& spec) const {
  for (const auto& [type, maker] : entries_)
    if (type == spec.type()) return maker(spec);
  throw Error("layer kind '" + std::string(spec.type()) + "' has no training layer",
              ErrorKind::unsupported);
}

void TrainLayerRegistry::add_fusion(std::string_view first, std::string_view second,
                                    MakeFused maker) {
  fusions_.push_back({first, second, maker});
}

TrainLayerRegistry::MakeFused TrainLayerRegistry::fusion(const LayerSpec& first,
                                                         const LayerSpec& second) const {
  for (const Fusion& f : fusions_)
    if (f.first == first.type() && f.second == second.type()) return f.make;
  return nullptr;
}

namespace {

class PassThroughLayer final : public Layer {
 public:
  void forward(Activations& in, Activations& out, Mode /*mode*/) override { std::swap(in, out); }
  void backward(const Activations& /*in*/, const Activations& /*out*/, Activations& diff_out,
                Activations* diff_in) override {
    if (diff_in) std::swap(*diff_in, diff_out);
  }
};

}  // namespace

std::unique_ptr<Layer> make_pass_through_layer() {
  return std::make_unique<PassThroughLayer>();
}

const TrainLayerRegistry& train_layers() {
  static const TrainLayerRegistry registry = [] {
    TrainLayerRegistry r;
    register_train_layers(r);
    return r;
  }();
  return registry;
}

std::unique_ptr<Layer> make_layer(const LayerSpec& spec) {
  return train_layers().make(spec);
}

}  // namespace ocrcore::train
