// The linear output layer for training: one GEMM over all frames of the batch.

#include <algorithm>

#include "layers/linear/linear.hpp"
#include "ocrcore/error.hpp"
#include "training/train/gemm.hpp"
#include "training/train/layer_factory.hpp"

namespace ocrcore::train {

namespace {

class LinearLayer final : public Layer {
 public:
  explicit LinearLayer(const LinearSpec& s)
      : s_(s),
        weight_(s.name + ".weight", {s.out_features, s.in_features}),
        bias_(s.bias ? s.name + ".bias" : std::string("<no bias>"), {s.out_features}, s.bias) {}

  std::vector<Parameter*> parameters() override {
    if (s_.bias) return {&weight_, &bias_};
    return {&weight_};
  }

  void forward(Activations& in, Activations& out, Mode /*mode*/) override {
    if (in.kind != Activations::Kind::sequences || in.features != s_.in_features)
      throw Error("linear " + s_.name + ": expected " + std::to_string(s_.in_features) +
                  " features per frame, got " + std::to_string(in.features));
    const int rows = in.frames * in.batch, O = s_.out_features;
    out.resize_sequences(in.frames, in.batch, O);
    out.lengths = in.lengths;
    for (int r = 0; r < rows; ++r)
      std::copy(bias_.value.begin(), bias_.value.end(),
                out.values.begin() + static_cast<std::ptrdiff_t>(r) * O);
    gemm(false, true, rows, O, s_.in_features, 1.0f, in.values.data(), s_.in_features,
         weight_.value.data(), s_.in_features, 1.0f, out.values.data(), O);
  }

  void backward(const Activations& in, const Activations& /*out*/, Activations& diff_out,
                Activations* diff_in) override {
    const int rows = in.frames * in.batch, O = s_.out_features, I = s_.in_features;
    if (!weight_.frozen)
      gemm(true, false, O, I, rows, 1.0f, diff_out.values.data(), O, in.values.data(), I, 1.0f,
           weight_.grad.data(), I);
    if (s_.bias && !bias_.frozen)
      for (int r = 0; r < rows; ++r)
        for (int o = 0; o < O; ++o)
          bias_.grad[o] += diff_out.values[static_cast<std::size_t>(r) * O + o];
    if (!diff_in) return;
    diff_in->zeros_like(in);
    gemm(false, false, rows, I, O, 1.0f, diff_out.values.data(), O, weight_.value.data(), I, 0.0f,
         diff_in->values.data(), I);
    diff_in->fill_padding(0.0f);
  }

 private:
  LinearSpec s_;
  Parameter weight_, bias_;
};

}  // namespace

namespace {

std::unique_ptr<Layer> make_linear_layer(const LinearSpec& s) {
  return std::make_unique<LinearLayer>(s);
}

}  // namespace

void register_linear_train(TrainLayerRegistry& registry) {
  registry.add<LinearSpec, make_linear_layer>();
}

}  // namespace ocrcore::train
