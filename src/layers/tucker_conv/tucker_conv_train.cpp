// The Tucker-2 convolution for training: its factors as three convolutions.

#include "layers/tucker_conv/tucker_conv.hpp"
#include "training/train/layer_factory.hpp"

namespace ocrcore::train {

namespace {

// out(core(in(x))): three convolutions whose intermediates the layer keeps.
class TuckerConvLayer final : public Layer {
 public:
  explicit TuckerConvLayer(const TuckerConvSpec& s) : has_in_(s.rank_in > 0) {
    const int core_in = has_in_ ? s.rank_in : s.in_channels;
    if (has_in_)
      in_ =
          make_convolution_layer(ConvGeometry{s.in_channels, s.rank_in}, s.name + ".in.weight", "");
    core_ = make_convolution_layer(ConvGeometry{core_in, s.rank_out, s.kernel_h, s.kernel_w,
                                                s.stride_h, s.stride_w, s.pad_h, s.pad_w},
                                   s.name + ".core.weight", "");
    out_ = make_convolution_layer(ConvGeometry{s.rank_out, s.out_channels}, s.name + ".out.weight",
                                  s.bias ? s.name + ".out.bias" : "");
  }

  std::vector<Parameter*> parameters() override {
    std::vector<Parameter*> all;
    for (Layer* l : {in_.get(), core_.get(), out_.get()})
      if (l)
        for (Parameter* p : l->parameters())
          all.push_back(p);
    return all;
  }

  void forward(Activations& in, Activations& out, Mode mode) override {
    Activations* core_in = &in;
    if (has_in_) {
      in_->forward(in, a_, mode);
      core_in = &a_;
    }
    core_->forward(*core_in, b_, mode);
    out_->forward(b_, out, mode);
  }

  void backward(const Activations& in, const Activations& out, Activations& diff_out,
                Activations* diff_in) override {
    out_->backward(b_, out, diff_out, &db_);
    if (has_in_) {
      core_->backward(a_, b_, db_, &da_);
      in_->backward(in, a_, da_, diff_in);
    } else {
      core_->backward(in, b_, db_, diff_in);
    }
  }

 private:
  bool has_in_;
  std::unique_ptr<Layer> in_, core_, out_;
  Activations a_, b_, da_, db_;
};

}  // namespace

namespace {

std::unique_ptr<Layer> make_tucker_conv_layer(const TuckerConvSpec& s) {
  return std::make_unique<TuckerConvLayer>(s);
}

}  // namespace

void register_tucker_conv_train(TrainLayerRegistry& registry) {
  registry.add<TuckerConvSpec, make_tucker_conv_layer>();
}

}  // namespace ocrcore::train
