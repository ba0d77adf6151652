// Max pooling for training, on oneDNN's pooling primitives (NHWC), cached per
// input shape.

#include <limits>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>

#include "layers/max_pool/max_pool.hpp"
#include "ocrcore/error.hpp"
#include "runtime/graph/shapes.hpp"
#include "training/train/layer_factory.hpp"
#include "training/train/onednn_training.hpp"

namespace ocrcore::train {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

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
    auto stream = dnnl::stream(training_cpu_engine());
    memory src(p.fwd_pd.src_desc(), training_cpu_engine(), in.values.data());
    memory dst(p.fwd_pd.dst_desc(), training_cpu_engine(), out.values.data());
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
    auto stream = dnnl::stream(training_cpu_engine());
    memory ddst(p.bwd_pd.diff_dst_desc(), training_cpu_engine(),
                const_cast<float*>(diff_out.values.data()));
    memory dsrc(p.bwd_pd.diff_src_desc(), training_cpu_engine(), diff_in->values.data());
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
    auto& eng = training_cpu_engine();
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

namespace {

std::unique_ptr<Layer> make_max_pool_layer(const MaxPoolSpec& s) {
  return std::make_unique<MaxPoolLayer>(s);
}

}  // namespace

void register_max_pool_train(TrainLayerRegistry& registry) {
  registry.add<MaxPoolSpec, make_max_pool_layer>();
}

}  // namespace ocrcore::train
