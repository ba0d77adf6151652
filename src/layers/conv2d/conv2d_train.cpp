// Convolution for training, on oneDNN's forward-training and backward
// primitives with NHWC activations (as fast as the blocked layouts on this
// kind of CPU for these layers, and what our own element-wise code reads
// directly). Primitives are cached per input shape; batches come in a few
// bucketed widths, so the cache stays small.

#include <algorithm>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>

#include "layers/conv2d/conv2d.hpp"
#include "ocrcore/error.hpp"
#include "runtime/graph/shapes.hpp"
#include "training/train/layer_factory.hpp"
#include "training/train/onednn_training.hpp"

namespace ocrcore::train {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

class ConvLayer final : public Layer {
 public:
  ConvLayer(ConvGeometry g, const std::string& weight_name, const std::string& bias_name)
      : g_(g),
        weight_(weight_name, {g.out_channels, g.in_channels / g.groups, g.kernel_h, g.kernel_w}),
        has_bias_(!bias_name.empty()),
        bias_(has_bias_ ? bias_name : std::string("<no bias>"), {g.out_channels}, has_bias_) {}

  std::vector<Parameter*> parameters() override {
    if (has_bias_) return {&weight_, &bias_};
    return {&weight_};
  }

  void forward(Activations& in, Activations& out, Mode mode) override {
    in.fill_padding(0.0f);
    const int oh = detail::conv_out(in.height, g_.kernel_h, g_.stride_h, g_.pad_h);
    const int ow = detail::conv_out(in.width, g_.kernel_w, g_.stride_w, g_.pad_w);
    if (oh <= 0 || ow <= 0) throw Error("convolution input too small for its kernel");
    out.resize_maps(in.batch, g_.out_channels, oh, ow);
    for (int n = 0; n < in.batch; ++n)
      out.lengths[n] =
          std::max(0, detail::conv_out(in.lengths[n], g_.kernel_w, g_.stride_w, g_.pad_w));
    Prims& p = prims_for(in, mode);
    reorder_in(weight_.value.data(), p.fwd_pd.weights_desc(), p.fwd_weights);
    auto stream = dnnl::stream(training_cpu_engine());
    memory src(p.fwd_pd.src_desc(), training_cpu_engine(), in.values.data());
    memory dst(p.fwd_pd.dst_desc(), training_cpu_engine(), out.values.data());
    memory bias(p.bias_md, training_cpu_engine(), bias_.value.data());
    p.fwd.execute(stream, {{DNNL_ARG_SRC, src},
                           {DNNL_ARG_WEIGHTS, p.fwd_weights},
                           {DNNL_ARG_BIAS, bias},
                           {DNNL_ARG_DST, dst}});
    stream.wait();
  }

  void backward(const Activations& in, const Activations& /*out*/, Activations& diff_out,
                Activations* diff_in) override {
    Prims& p = prims_for(in, Mode::training);
    auto stream = dnnl::stream(training_cpu_engine());
    auto* src_ptr = const_cast<float*>(in.values.data());
    auto* ddst_ptr = const_cast<float*>(diff_out.values.data());
    memory src(p.bwd_w_pd.src_desc(), training_cpu_engine(), src_ptr);
    memory ddst(p.bwd_w_pd.diff_dst_desc(), training_cpu_engine(), ddst_ptr);
    if (!weight_.frozen || (has_bias_ && !bias_.frozen)) {
      memory dbias(p.bias_md, training_cpu_engine(), bias_grad_.data());
      p.bwd_w.execute(stream, {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_DIFF_DST, ddst},
                               {DNNL_ARG_DIFF_WEIGHTS, p.diff_weights},
                               {DNNL_ARG_DIFF_BIAS, dbias}});
      // Back to OIHW, added to what earlier passes accumulated.
      memory user({p.w_dims, dt::f32, user_tag()}, training_cpu_engine(), weight_scratch_.data());
      dnnl::reorder(p.diff_weights, user).execute(stream, p.diff_weights, user);
      stream.wait();
      for (std::size_t i = 0; i < weight_.grad.size(); ++i)
        weight_.grad[i] += weight_scratch_[i];
      if (has_bias_)
        for (int o = 0; o < g_.out_channels; ++o)
          bias_.grad[o] += bias_grad_[o];
    }
    if (diff_in) {
      diff_in->resize_maps(in.batch, in.channels, in.height, in.width);
      diff_in->lengths = in.lengths;
      reorder_in(weight_.value.data(), p.bwd_d_pd.weights_desc(), p.bwd_weights);
      memory dsrc(p.bwd_d_pd.diff_src_desc(), training_cpu_engine(), diff_in->values.data());
      memory ddst_d(p.bwd_d_pd.diff_dst_desc(), training_cpu_engine(), ddst_ptr);
      p.bwd_d.execute(stream, {{DNNL_ARG_DIFF_DST, ddst_d},
                               {DNNL_ARG_WEIGHTS, p.bwd_weights},
                               {DNNL_ARG_DIFF_SRC, dsrc}});
      stream.wait();
      diff_in->fill_padding(0.0f);
    }
  }

 private:
  // The weights as the model file holds them: oihw, or goihw with groups.
  memory::dims weight_dims() const {
    if (g_.groups == 1) return {g_.out_channels, g_.in_channels, g_.kernel_h, g_.kernel_w};
    return {g_.groups, g_.out_channels / g_.groups, g_.in_channels / g_.groups, g_.kernel_h,
            g_.kernel_w};
  }
  tag user_tag() const { return g_.groups == 1 ? tag::oihw : tag::goihw; }

  struct Prims {
    memory::dims w_dims;
    memory::desc bias_md;
    dnnl::convolution_forward::primitive_desc fwd_pd;
    dnnl::convolution_forward fwd;
    dnnl::convolution_backward_data::primitive_desc bwd_d_pd;
    dnnl::convolution_backward_data bwd_d;
    dnnl::convolution_backward_weights::primitive_desc bwd_w_pd;
    dnnl::convolution_backward_weights bwd_w;
    memory fwd_weights, bwd_weights, diff_weights;
    bool has_backward = false;
  };

  Prims& prims_for(const Activations& in, Mode mode) {
    const memory::dims src_dims = {in.batch, in.channels, in.height, in.width};
    const bool training = mode == Mode::training;
    auto key = std::pair{src_dims, training};
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    if (cache_.size() > 64) cache_.clear();  // widths are bucketed; this is a safety net
    Prims p;
    const int oh = detail::conv_out(in.height, g_.kernel_h, g_.stride_h, g_.pad_h);
    const int ow = detail::conv_out(in.width, g_.kernel_w, g_.stride_w, g_.pad_w);
    const memory::dims dst_dims = {in.batch, g_.out_channels, oh, ow};
    p.w_dims = weight_dims();
    const memory::dims strides = {g_.stride_h, g_.stride_w}, pads = {g_.pad_h, g_.pad_w};
    memory::desc src_md(src_dims, dt::f32, tag::nhwc), dst_md(dst_dims, dt::f32, tag::nhwc);
    memory::desc w_any(p.w_dims, dt::f32, tag::any);
    p.bias_md = memory::desc({g_.out_channels}, dt::f32, tag::x);
    auto& eng = training_cpu_engine();
    p.fwd_pd = dnnl::convolution_forward::primitive_desc(
        {training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
         dnnl::algorithm::convolution_direct, src_md, w_any, p.bias_md, dst_md, strides, pads,
         pads},
        eng);
    p.fwd = dnnl::convolution_forward(p.fwd_pd);
    p.fwd_weights = memory(p.fwd_pd.weights_desc(), eng);
    if (training) {
      p.bwd_d_pd = dnnl::convolution_backward_data::primitive_desc(
          {dnnl::algorithm::convolution_direct, src_md, w_any, dst_md, strides, pads, pads}, eng,
          p.fwd_pd);
      p.bwd_d = dnnl::convolution_backward_data(p.bwd_d_pd);
      p.bwd_w_pd = dnnl::convolution_backward_weights::primitive_desc(
          {dnnl::algorithm::convolution_direct, src_md, w_any, p.bias_md, dst_md, strides, pads,
           pads},
          eng, p.fwd_pd);
      p.bwd_w = dnnl::convolution_backward_weights(p.bwd_w_pd);
      p.bwd_weights = memory(p.bwd_d_pd.weights_desc(), eng);
      p.diff_weights = memory(p.bwd_w_pd.diff_weights_desc(), eng);
      p.has_backward = true;
    }
    weight_scratch_.resize(weight_.numel());
    bias_grad_.resize(static_cast<std::size_t>(g_.out_channels));
    return cache_.emplace(key, std::move(p)).first->second;
  }

  void reorder_in(float* user_weights, const memory::desc& want, memory& dst) {
    auto& eng = training_cpu_engine();
    auto stream = dnnl::stream(eng);
    memory user({weight_dims(), dt::f32, user_tag()}, eng, user_weights);
    dnnl::reorder(user, dst).execute(stream, user, dst);
    stream.wait();
    (void)want;
  }

  ConvGeometry g_;
  Parameter weight_;
  bool has_bias_;
  Parameter bias_;
  std::vector<float> weight_scratch_, bias_grad_;
  std::map<std::pair<memory::dims, bool>, Prims> cache_;
};

}  // namespace

std::unique_ptr<Layer> make_convolution_layer(const ConvGeometry& g, const std::string& weight_name,
                                              const std::string& bias_name) {
  return std::make_unique<ConvLayer>(g, weight_name, bias_name);
}

namespace {

std::unique_ptr<Layer> make_conv_layer(const Conv2dSpec& s) {
  return make_convolution_layer(ConvGeometry{s.in_channels, s.out_channels, s.kernel_h, s.kernel_w,
                                             s.stride_h, s.stride_w, s.pad_h, s.pad_w},
                                s.name + ".weight", s.bias ? s.name + ".bias" : "");
}

}  // namespace

void register_conv2d_train(TrainLayerRegistry& registry) {
  registry.add<Conv2dSpec, make_conv_layer>();
}

}  // namespace ocrcore::train
