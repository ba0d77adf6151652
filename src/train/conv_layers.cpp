// Convolution, Tucker-2 convolution and max pooling for training, on oneDNN's
// forward-training and backward primitives with NHWC activations (as fast as
// the blocked layouts on this kind of CPU for these layers, and what our own
// element-wise code reads directly). Primitives are cached per input shape;
// batches come in a few bucketed widths, so the cache stays small.

#include <algorithm>
#include <limits>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>

#include "nn/shapes.hpp"
#include "ocrcore/error.hpp"
#include "train/layer_factory.hpp"

namespace ocrcore::train {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

struct ConvGeometry {
  int in_channels = 0, out_channels = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
};

class ConvLayer final : public Layer {
 public:
  ConvLayer(ConvGeometry g, const std::string& weight_name, const std::string& bias_name)
      : g_(g),
        weight_(weight_name, {g.out_channels, g.in_channels, g.kernel_h, g.kernel_w}),
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
    auto stream = dnnl::stream(cpu_engine());
    memory src(p.fwd_pd.src_desc(), cpu_engine(), in.values.data());
    memory dst(p.fwd_pd.dst_desc(), cpu_engine(), out.values.data());
    memory bias(p.bias_md, cpu_engine(), bias_.value.data());
    p.fwd.execute(stream, {{DNNL_ARG_SRC, src},
                           {DNNL_ARG_WEIGHTS, p.fwd_weights},
                           {DNNL_ARG_BIAS, bias},
                           {DNNL_ARG_DST, dst}});
    stream.wait();
  }

  void backward(const Activations& in, const Activations& /*out*/, Activations& diff_out,
                Activations* diff_in) override {
    Prims& p = prims_for(in, Mode::training);
    auto stream = dnnl::stream(cpu_engine());
    auto* src_ptr = const_cast<float*>(in.values.data());
    auto* ddst_ptr = const_cast<float*>(diff_out.values.data());
    memory src(p.bwd_w_pd.src_desc(), cpu_engine(), src_ptr);
    memory ddst(p.bwd_w_pd.diff_dst_desc(), cpu_engine(), ddst_ptr);
    if (!weight_.frozen || (has_bias_ && !bias_.frozen)) {
      memory dbias(p.bias_md, cpu_engine(), bias_grad_.data());
      p.bwd_w.execute(stream, {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_DIFF_DST, ddst},
                               {DNNL_ARG_DIFF_WEIGHTS, p.diff_weights},
                               {DNNL_ARG_DIFF_BIAS, dbias}});
      // Back to OIHW, added to what earlier passes accumulated.
      memory user({p.w_dims, dt::f32, tag::oihw}, cpu_engine(), weight_scratch_.data());
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
      memory dsrc(p.bwd_d_pd.diff_src_desc(), cpu_engine(), diff_in->values.data());
      memory ddst_d(p.bwd_d_pd.diff_dst_desc(), cpu_engine(), ddst_ptr);
      p.bwd_d.execute(stream, {{DNNL_ARG_DIFF_DST, ddst_d},
                               {DNNL_ARG_WEIGHTS, p.bwd_weights},
                               {DNNL_ARG_DIFF_SRC, dsrc}});
      stream.wait();
      diff_in->fill_padding(0.0f);
    }
  }

 private:
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
    p.w_dims = {g_.out_channels, g_.in_channels, g_.kernel_h, g_.kernel_w};
    const memory::dims strides = {g_.stride_h, g_.stride_w}, pads = {g_.pad_h, g_.pad_w};
    memory::desc src_md(src_dims, dt::f32, tag::nhwc), dst_md(dst_dims, dt::f32, tag::nhwc);
    memory::desc w_any(p.w_dims, dt::f32, tag::any);
    p.bias_md = memory::desc({g_.out_channels}, dt::f32, tag::x);
    auto& eng = cpu_engine();
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
    auto& eng = cpu_engine();
    auto stream = dnnl::stream(eng);
    memory::dims w_dims = {g_.out_channels, g_.in_channels, g_.kernel_h, g_.kernel_w};
    memory user({w_dims, dt::f32, tag::oihw}, eng, user_weights);
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

// out(core(in(x))): three convolutions whose intermediates the layer keeps.
class TuckerConvLayer final : public Layer {
 public:
  explicit TuckerConvLayer(const TuckerConvSpec& s) : has_in_(s.rank_in > 0) {
    const int core_in = has_in_ ? s.rank_in : s.in_channels;
    if (has_in_)
      in_ = std::make_unique<ConvLayer>(ConvGeometry{s.in_channels, s.rank_in},
                                        s.name + ".in.weight", "");
    core_ = std::make_unique<ConvLayer>(ConvGeometry{core_in, s.rank_out, s.kernel_h, s.kernel_w,
                                                     s.stride_h, s.stride_w, s.pad_h, s.pad_w},
                                        s.name + ".core.weight", "");
    out_ = std::make_unique<ConvLayer>(ConvGeometry{s.rank_out, s.out_channels},
                                       s.name + ".out.weight", s.bias ? s.name + ".out.bias" : "");
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
  std::unique_ptr<ConvLayer> in_, core_, out_;
  Activations a_, b_, da_, db_;
};

class MaxPoolLayer final : public Layer {
 public:
  explicit MaxPoolLayer(const MaxPoolSpec& s) : s_(s) {}

  void forward(Activations& in, Activations& out, Mode mode) override {
    in.fill_padding(std::numeric_limits<float>::lowest());
    const int oh = detail::pool_out(in.height, s_.kernel_h, s_.stride_h, s_.pad_h, s_.ceil_mode);
    const int ow = detail::pool_out(in.width, s_.kernel_w, s_.stride_w, s_.pad_w, s_.ceil_mode);
    if (oh <= 0 || ow <= 0) throw Error("max pooling input too small for its window");
    out.resize_maps(in.batch, in.channels, oh, ow);
    for (int n = 0; n < in.batch; ++n)
      out.lengths[n] = std::max(
          0, detail::pool_out(in.lengths[n], s_.kernel_w, s_.stride_w, s_.pad_w, s_.ceil_mode));
    Prims& p = prims_for(in, oh, ow, mode);
    auto stream = dnnl::stream(cpu_engine());
    memory src(p.fwd_pd.src_desc(), cpu_engine(), in.values.data());
    memory dst(p.fwd_pd.dst_desc(), cpu_engine(), out.values.data());
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
    if (mode == Mode::training) args.emplace(DNNL_ARG_WORKSPACE, p.workspace);
    p.fwd.execute(stream, args);
    stream.wait();
  }

  void backward(const Activations& in, const Activations& out, Activations& diff_out,
                Activations* diff_in) override {
    if (!diff_in) return;
    Prims& p = prims_for(in, out.height, out.width, Mode::training);
    diff_in->resize_maps(in.batch, in.channels, in.height, in.width);
    diff_in->lengths = in.lengths;
    auto stream = dnnl::stream(cpu_engine());
    memory ddst(p.bwd_pd.diff_dst_desc(), cpu_engine(), const_cast<float*>(diff_out.values.data()));
    memory dsrc(p.bwd_pd.diff_src_desc(), cpu_engine(), diff_in->values.data());
    p.bwd.execute(
        stream,
        {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_SRC, dsrc}, {DNNL_ARG_WORKSPACE, p.workspace}});
    stream.wait();
    diff_in->fill_padding(0.0f);
  }

 private:
  struct Prims {
    dnnl::pooling_forward::primitive_desc fwd_pd;
    dnnl::pooling_forward fwd;
    dnnl::pooling_backward::primitive_desc bwd_pd;
    dnnl::pooling_backward bwd;
    memory workspace;
  };

  Prims& prims_for(const Activations& in, int oh, int ow, Mode mode) {
    const memory::dims src_dims = {in.batch, in.channels, in.height, in.width};
    const bool training = mode == Mode::training;
    auto key = std::pair{src_dims, training};
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    if (cache_.size() > 64) cache_.clear();
    auto& eng = cpu_engine();
    const memory::dims dst_dims = {in.batch, in.channels, oh, ow};
    memory::desc src_md(src_dims, dt::f32, tag::nhwc), dst_md(dst_dims, dt::f32, tag::nhwc);
    // Right padding that makes oneDNN produce PyTorch's (ceil-mode) output size.
    const memory::dims pad_l = {s_.pad_h, s_.pad_w};
    const memory::dims pad_r = {
        std::max<memory::dim>(0, (oh - 1) * s_.stride_h + s_.kernel_h - in.height - s_.pad_h),
        std::max<memory::dim>(0, (ow - 1) * s_.stride_w + s_.kernel_w - in.width - s_.pad_w)};
    const memory::dims strides = {s_.stride_h, s_.stride_w}, kernel = {s_.kernel_h, s_.kernel_w};
    Prims p;
    p.fwd_pd = dnnl::pooling_forward::primitive_desc(
        {training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
         dnnl::algorithm::pooling_max, src_md, dst_md, strides, kernel, pad_l, pad_r},
        eng);
    p.fwd = dnnl::pooling_forward(p.fwd_pd);
    if (training) {
      p.bwd_pd = dnnl::pooling_backward::primitive_desc(
          {dnnl::algorithm::pooling_max, src_md, dst_md, strides, kernel, pad_l, pad_r}, eng,
          p.fwd_pd);
      p.bwd = dnnl::pooling_backward(p.bwd_pd);
      p.workspace = memory(p.fwd_pd.workspace_desc(), eng);
    }
    return cache_.emplace(key, std::move(p)).first->second;
  }

  MaxPoolSpec s_;
  std::map<std::pair<memory::dims, bool>, Prims> cache_;
};

}  // namespace

std::unique_ptr<Layer> make_conv_layer(const Conv2dSpec& s) {
  return std::make_unique<ConvLayer>(
      ConvGeometry{s.in_channels, s.out_channels, s.kernel_h, s.kernel_w, s.stride_h, s.stride_w,
                   s.pad_h, s.pad_w},
      s.name + ".weight", s.bias ? s.name + ".bias" : "");
}

std::unique_ptr<Layer> make_tucker_conv_layer(const TuckerConvSpec& s) {
  return std::make_unique<TuckerConvLayer>(s);
}

std::unique_ptr<Layer> make_max_pool_layer(const MaxPoolSpec& s) {
  return std::make_unique<MaxPoolLayer>(s);
}

}  // namespace ocrcore::train
