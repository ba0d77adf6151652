// The first layer on ocrcore's own one-channel kernel (kernels::ImageConv),
// with the 2x2 pool after it folded in where that fits: a fusion of the
// oneDNN engine, planned once when the network is prepared (plan_image_conv)
// and applied by the engine's plan (make_image_conv_executor). The rules are
// tuning::image_conv and tuning::image_conv_pool.

#include "runtime/engines/onednn/image_conv.hpp"

#include <omp.h>

#include "layers/conv2d/conv2d_onednn.hpp"
#include "layers/max_pool/max_pool_onednn.hpp"
#include "runtime/engines/onednn/tuning.hpp"
#include "runtime/graph/shapes.hpp"

namespace ocrcore::detail::onednn {

using tag = memory::format_tag;
using dt = memory::data_type;

PreparedNetwork::ImageConvPlan plan_image_conv(const PreparedNetwork& prepared) {
  PreparedNetwork::ImageConvPlan plan;
  const auto& ops = prepared.network().ops;
  // The first layer as it runs: one convolution (a composed Tucker-1 layer included).
  const auto* first = prepared.find<PreparedConvolutions>(0);
  if (!first || first->convolutions.size() != 1) return plan;
  const ConvOp& conv = first->convolutions.front()->op();
  if (!tuning::image_conv(conv)) return plan;
  plan.active = true;
  const int channels = conv.out_channels;
  plan.weights.resize(9 * static_cast<std::size_t>(channels));
  for (int o = 0; o < channels; ++o)
    for (int k = 0; k < 9; ++k)
      plan.weights[static_cast<std::size_t>(k) * channels + o] = conv.weight[o * 9 + k];
  const auto* pool = ops.size() > 1 ? op_as<PoolOp>(*ops[1]) : nullptr;
  plan.pool = pool && tuning::image_conv_pool(*pool);
  return plan;
}

namespace {

// The first layer on kernels::ImageConv (a one-channel 3x3 convolution, with
// the 2x2 pool after it when it folds in), writing the layout oneDNN's own
// first convolution would produce (what the next layer was planned around).
// Where that layout has channel runs the kernel cannot write, the layer runs
// on oneDNN (and the pool on its own) from then on.
class ImageConvExecutor final : public OpExecutor {
 public:
  ImageConvExecutor(const PreparedNetwork& prepared, const std::string& name)
      : plan_(prepared.image_conv()),
        op_(prepared.op<PreparedConvolutions>(0).convolutions.front()->op()),
        fallback_(*prepared.op<PreparedConvolutions>(0).convolutions.front(), name) {
    if (plan_.pool)
      fallback_pool_ =
          std::make_unique<MaxPoolExecutor>(*op_as<PoolOp>(*prepared.network().ops[1]));
  }

  Dataflow dataflow() const override { return Dataflow::maps_to_maps; }
  void run(Context& c, const OpData& data) override {
    if (active_ && (active_ = run_kernel(c, data))) return;
    if (!fallback_pool_) return fallback_.run(c, data);
    OpExecutor* const steps[] = {&fallback_, fallback_pool_.get()};
    run_in_sequence(c, steps, data, scratch_);
  }
  void forget_shapes() override {
    out_mds_.clear();
    fallback_.forget_shapes();
    if (fallback_pool_) fallback_pool_->forget_shapes();
  }
  std::size_t ops_run() const override { return plan_.pool ? 2 : 1; }
  std::string name() const override { return fallback_.name() + (plan_.pool ? " + maxpool" : ""); }
  std::vector<std::string> op_names() const override {
    if (!plan_.pool) return {name()};
    return {name(), "maxpool (folded)"};
  }

 private:
  // The output descriptor for input `in`, or null when the kernel cannot
  // write the layout oneDNN would choose.
  const memory::desc* out_desc(Context& c, const FeatureMaps& in) {
    for (const auto& [src, dst] : out_mds_)
      if (src == in.md) return &dst;
    if (out_mds_.size() >= kMaxShapes) out_mds_.clear();
    // Only the descriptor: the kernel runs this layer, so oneDNN's code for
    // it would never run (generating it cost 2-3 ms per shape).
    Layout l;
    if (!Layout::from(fallback_.describe(c, in, in.height, in.width).dst_desc(), l)) return nullptr;
    tag t;
    if (l.block == 1 && l.sc == 1)
      t = tag::nhwc;
    else if (l.block == 8)
      t = tag::nChw8c;
    else if (l.block == 16)
      t = tag::nChw16c;
    else
      return nullptr;
    const int oh = plan_.pool ? in.height / 2 : in.height;
    const int ow = plan_.pool ? in.width / 2 : in.width;
    out_mds_.emplace_back(in.md, memory::desc({in.batch, op_.out_channels, oh, ow}, dt::f32, t));
    return &out_mds_.back().second;
  }

  bool run_kernel(Context& c, const OpData& data) {
    FeatureMaps& in = *data.maps_in;
    FeatureMaps& out = *data.maps_out;
    const memory::desc* md = out_desc(c, in);
    if (!md) return false;
    const int B = in.batch, H = in.height, W = in.width;
    const int oh = plan_.pool ? H / 2 : H, ow = plan_.pool ? W / 2 : W;
    // Each line with a one-pixel zero border (columns past its width are
    // already zero in the plain input).
    const std::size_t stride = static_cast<std::size_t>(W) + 2,
                      plane = stride * (static_cast<std::size_t>(H) + 2);
    auto& padded = c.padded;
    padded.assign(plane * B, 0.0f);
    for (int b = 0; b < B; ++b)
      for (int y = 0; y < H; ++y)
        std::copy_n(in.values.data() + in.layout.at(b, 0, y, 0), W,
                    padded.data() + b * plane + (y + 1) * stride + 1);
    out.reset(*md, B, op_.out_channels, oh, ow);
    out.widths.resize(B);
    for (int b = 0; b < B; ++b)
      out.widths[b] = plan_.pool ? pool_out(in.widths[b], 2, 2, 0, false) : in.widths[b];
    constexpr int kRows = 4;  // output rows per task
    const int chunks = (oh + kRows - 1) / kRows;
    const auto& kernels = c.kernels;
#pragma omp parallel for collapse(2) num_threads(c.threads) if (c.threads > 1) schedule(static)
    for (int b = 0; b < B; ++b)
      for (int r = 0; r < chunks; ++r) {
        kernels::ImageConv a;
        a.input = padded.data() + b * plane;
        a.input_stride = stride;
        a.out_cols = ow;
        a.row_begin = r * kRows;
        a.row_end = std::min(oh, a.row_begin + kRows);
        a.channels = op_.out_channels;
        a.weights = plan_.weights.data();
        a.bias = op_.bias.data();
        a.relu = op_.relu;
        a.pool = plan_.pool;
        a.output = out.values.data() + b * out.layout.sb;
        a.out_sy = out.layout.sy;
        a.out_sx = out.layout.sx;
        a.out_sc = out.layout.sc;
        a.out_block = out.layout.block;
        kernels.image_conv(a);
      }
    return true;
  }

  const PreparedNetwork::ImageConvPlan& plan_;
  const ConvOp& op_;
  ConvExecutor fallback_;
  std::unique_ptr<MaxPoolExecutor> fallback_pool_;
  FeatureMaps scratch_;  // the convolution's output before its pool, on oneDNN
  bool active_ = true;   // cleared if oneDNN picks a layout the kernel cannot write
  std::vector<std::pair<memory::desc, memory::desc>> out_mds_;
};

}  // namespace

std::unique_ptr<OpExecutor> make_image_conv_executor(const PreparedNetwork& prepared) {
  // Named as op 0's own executor names it ("conv 1->64 3x3", "tucker composed ...").
  const Op& first = *prepared.network().ops[0];
  const std::string name = executors().find(first).make(prepared, 0, {})->name();
  return std::make_unique<ImageConvExecutor>(prepared, name);
}

}  // namespace ocrcore::detail::onednn
