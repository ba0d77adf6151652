#include "layers/max_pool/max_pool_onednn.hpp"

#include <limits>

#include "runtime/graph/shapes.hpp"

namespace ocrcore::detail::onednn {

struct MaxPoolExecutor::Shape {
  memory::desc src_md;
  dnnl::pooling_forward prim;
  memory src, dst;
  ExecArgs args;
};

MaxPoolExecutor::MaxPoolExecutor(const PoolOp& op) : op_(op) {}
MaxPoolExecutor::~MaxPoolExecutor() = default;
void MaxPoolExecutor::forget_shapes() {
  shapes_.clear();
}

void MaxPoolExecutor::run(Context& c, const OpData& data) {
  using dt = memory::data_type;
  const PoolOp& op = op_;
  FeatureMaps& in = *data.maps_in;
  FeatureMaps& out = *data.maps_out;
  // Outside a line, max pooling sees nothing: -inf never wins a window.
  in.fill_padding(std::numeric_limits<float>::lowest());
  const int oh = pool_out(in.height, op.kernel_h, op.stride_h, op.pad_h, op.ceil_mode);
  const int ow = pool_out(in.width, op.kernel_w, op.stride_w, op.pad_w, op.ceil_mode);
  Shape* e = find_shape(shapes_, in.md);
  if (!e) {
    Shape n;
    n.src_md = in.md;
    memory::dims dst_dims = {in.batch, in.channels, oh, ow};
    // Right padding that makes oneDNN's output size equal PyTorch's (ceil mode
    // overhang included); padded cells are ignored by max pooling.
    auto pad_r = [](int in_len, int out_len, int k, int s, int p) {
      return std::max(p, (out_len - 1) * s + k - in_len - p);
    };
    dnnl::pooling_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, in.md,
        memory::desc(dst_dims, dt::f32, memory::format_tag::any), {op.stride_h, op.stride_w},
        {op.kernel_h, op.kernel_w}, {op.pad_h, op.pad_w},
        {pad_r(in.height, oh, op.kernel_h, op.stride_h, op.pad_h),
         pad_r(in.width, ow, op.kernel_w, op.stride_w, op.pad_w)});
    const auto pd =
        c.timed_setup([&] { return dnnl::pooling_forward::primitive_desc(desc, c.engine); });
    n.prim = c.timed_setup([&] { return dnnl::pooling_forward(pd); });
    n.src = memory(pd.src_desc(), c.engine, nullptr);
    n.dst = memory(pd.dst_desc(), c.engine, nullptr);
    n.args = {{DNNL_ARG_SRC, n.src.get()}, {DNNL_ARG_DST, n.dst.get()}};
    shapes_.push_back(std::move(n));
    e = &shapes_.back();
  }
  out.reset(e->dst.get_desc(), in.batch, in.channels, oh, ow);
  out.widths.resize(in.batch);
  for (int b = 0; b < in.batch; ++b)
    out.widths[b] = pool_out(in.widths[b], op.kernel_w, op.stride_w, op.pad_w, op.ceil_mode);
  e->src.set_data_handle(in.values.data());
  e->dst.set_data_handle(out.values.data());
  c.execute(e->prim, e->args);
  c.stream.wait();
}

namespace {

std::unique_ptr<OpExecutor> make_max_pool_executor(const PreparedNetwork& prepared, std::size_t op,
                                                   OpPlacement) {
  return std::make_unique<MaxPoolExecutor>(*op_as<PoolOp>(*prepared.network().ops.at(op)));
}

}  // namespace

void register_max_pool_onednn(ExecutorRegistry& registry) {
  registry.add<PoolOp>(make_max_pool_executor);
}

}  // namespace ocrcore::detail::onednn
