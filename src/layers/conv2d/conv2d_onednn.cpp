// conv2d in the oneDNN engine: oneDNN's convolution primitives per input
// shape (fp32, bf16, or int8 with each line quantised on its own). (The image
// layer on ocrcore's own kernel is a fusion: runtime/engines/onednn/image_conv.cpp.)

#include "layers/conv2d/conv2d_onednn.hpp"

#include <omp.h>

#include <new>

#include "runtime/engines/onednn/tuning.hpp"
#include "runtime/graph/quantization.hpp"
#include "runtime/graph/shapes.hpp"

namespace ocrcore::detail {

dnnl::memory::dims conv_weight_dims(const ConvOp& op) {
  if (op.groups == 1) return {op.out_channels, op.in_channels, op.kernel_h, op.kernel_w};
  return {op.groups, op.out_channels / op.groups, op.in_channels / op.groups, op.kernel_h,
          op.kernel_w};
}

const void* PreparedConv::weights(const dnnl::memory::desc& layout, const dnnl::engine& engine,
                                  dnnl::stream& stream) const {
  using dnnl::memory;
  std::lock_guard lock(mutex_);
  for (const auto& r : reordered_)
    if (r->layout == layout) return r->values.get();
  auto r = std::make_unique<Reordered>();
  r->layout = layout;
  r->bytes = layout.get_size();
  r->values.reset(std::aligned_alloc(64, (r->bytes + 63) / 64 * 64));
  if (!r->values) throw std::bad_alloc();
  const ConvOp& op = *op_;
  // The model file's order: oihw, or goihw for a grouped convolution.
  const memory::dims dims = conv_weight_dims(op);
  const bool int8 = layout.data_type() == memory::data_type::s8;
  std::vector<std::int8_t> int8_values;  // oihw, as the model file stores them
  if (int8) int8_values = op.int8_weights().values;
  memory user(memory::desc(dims, int8 ? memory::data_type::s8 : memory::data_type::f32,
                           op.groups > 1 ? memory::format_tag::goihw : memory::format_tag::oihw),
              engine,
              int8 ? static_cast<void*>(int8_values.data())
                   : static_cast<void*>(const_cast<float*>(op.weight.data())));
  memory target(layout, engine, r->values.get());
  dnnl::reorder(user, target).execute(stream, user, target);
  stream.wait();
  reordered_.push_back(std::move(r));
  return reordered_.back()->values.get();
}

std::size_t PreparedConv::bytes() const {
  std::size_t total = vector_bytes(int8_scale_);
  std::lock_guard lock(mutex_);
  for (const auto& r : reordered_)
    total += r->bytes;
  return total;
}

std::size_t PreparedConvolutions::bytes() const {
  std::size_t total = 0;
  if (composed) total += vector_bytes(composed->weight) + vector_bytes(composed->bias);
  for (const auto& conv : convolutions)
    total += conv->bytes();
  return total;
}

}  // namespace ocrcore::detail

namespace ocrcore::detail::onednn {

using tag = memory::format_tag;
using dt = memory::data_type;

// Per input shape: the primitive, the memory objects it runs on (pointed at
// the current buffers with set_data_handle), and the input reorder when the
// previous layer's layout is not the one it wants.
struct ConvExecutor::Shape {
  memory::desc src_md;  // the layout the input arrives in
  dnnl::convolution_forward prim;
  memory src, dst, weights, bias;
  bool reorder_input = false;
  dnnl::reorder to_src;
  memory user_src;
  ExecArgs args, reorder_args;
  // int8 (PreparedConv::int8): each line's input is quantised to uint8 with
  // its own scale (int8_input_scale of its largest value, so a line's result
  // never depends on its batch) by a one-line reorder run per line; the
  // primitive computes z = w_scale[oc] * (sum of q * w_q), its weight scales
  // fixed when it is created; finish_int8 then makes
  // relu(z / input_scale + bias) per line. (oneDNN 2.6 has no run-time
  // output scales for convolutions: the line's scale and what depends on
  // it, the bias and the ReLU, are applied after.)
  dnnl::reorder quantize_line;
  memory line_from, line_to;
  std::vector<float> input_scale;  // one value (a heap buffer survives the move into the cache)
  memory input_scale_mem;
  ExecArgs quantize_args;
  std::size_t src_line_bytes = 0;  // one line of the uint8 input
  // On the AVX-512 path with both layouts channels-innermost (nhwc), as
  // oneDNN's int8 kernels choose: quantised by KernelTable::quantize_u8
  // instead of the reorder.
  bool quantize_in_place = false;
};

ConvExecutor::ConvExecutor(const PreparedConv& conv, std::string name)
    : conv_(conv), name_(std::move(name)) {}
ConvExecutor::~ConvExecutor() = default;
void ConvExecutor::forget_shapes() {
  shapes_.clear();
}

dnnl::convolution_forward::primitive_desc ConvExecutor::describe(Context& c, const FeatureMaps& in,
                                                                 int oh, int ow) const {
  const ConvOp& op = conv_.op();
  const bool int8 = conv_.int8(), bf16 = conv_.bf16();
  const dt src_type = int8 ? dt::u8 : bf16 ? dt::bf16 : dt::f32;
  const dt weight_type = int8 ? dt::s8 : bf16 ? dt::bf16 : dt::f32;
  memory::dims src_dims = {in.batch, in.channels, in.height, in.width};
  memory::dims dst_dims = {in.batch, op.out_channels, oh, ow};
  const memory::dims w_dims = conv_weight_dims(op);
  const auto b_md = memory::desc({op.out_channels}, dt::f32, tag::x);
  dnnl::primitive_attr attr;
  if (op.relu && !int8) {
    dnnl::post_ops po;
    po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(po);
  }
  if (int8) attr.set_output_scales(1 << 1, conv_.int8_scale());  // per channel
  auto make_pd = [&](dnnl::algorithm alg, tag layout) {
    const memory::desc src(src_dims, src_type, layout);
    const memory::desc weights(w_dims, weight_type, tag::any);
    const memory::desc dst(dst_dims, dt::f32, layout);
    const memory::dims strides{op.stride_h, op.stride_w}, pad{op.pad_h, op.pad_w};
    // int8: the bias is added by finish_int8.
    auto desc = int8 ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, alg, src,
                                                       weights, dst, strides, pad, pad)
                     : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, alg, src,
                                                       weights, b_md, dst, strides, pad, pad);
    auto pd = dnnl::convolution_forward::primitive_desc(desc, attr, c.engine);
    while (tuning::skip_conv_implementation(pd.impl_info_str(), int8) && pd.next_impl()) {
    }
    return pd;
  };
  if (src_type == dt::f32 && tuning::winograd(op, oh, c.conv_algorithm)) try {
      auto pd = make_pd(dnnl::algorithm::convolution_winograd, tag::any);
      Layout probe;
      if (Layout::from(pd.dst_desc(), probe)) return pd;
    } catch (const dnnl::error&) {
      // No Winograd implementation for this shape on this CPU.
    }
  auto pd = make_pd(dnnl::algorithm::convolution_direct, tag::any);
  Layout probe;
  // A layout we could not mask: ask for plain nhwc instead.
  if (!Layout::from(pd.dst_desc(), probe))
    pd = make_pd(dnnl::algorithm::convolution_direct, tag::nhwc);
  return pd;
}

ConvExecutor::Shape& ConvExecutor::shape(Context& c, const FeatureMaps& in, int oh, int ow) {
  if (Shape* hit = find_shape(shapes_, in.md)) return *hit;
  const ConvOp& op = conv_.op();
  Shape e;
  e.src_md = in.md;
  const auto b_md = memory::desc({op.out_channels}, dt::f32, tag::x);
  const auto pd = c.timed_setup([&] { return describe(c, in, oh, ow); });
  e.prim = c.timed_setup([&] { return dnnl::convolution_forward(pd); });
  e.src = memory(pd.src_desc(), c.engine, nullptr);
  e.dst = memory(pd.dst_desc(), c.engine, nullptr);
  // The model's shared copy, reordered into this layout once for all engines.
  e.weights = memory(pd.weights_desc(), c.engine,
                     const_cast<void*>(conv_.weights(pd.weights_desc(), c.engine, c.stream)));
  e.reorder_input = !conv_.int8() && pd.src_desc() != in.md;
  if (e.reorder_input) {
    e.user_src = memory(in.md, c.engine, nullptr);
    e.to_src = dnnl::reorder(e.user_src, e.src);
    e.reorder_args = {{DNNL_ARG_FROM, e.user_src.get()}, {DNNL_ARG_TO, e.src.get()}};
  }
  e.args = {{DNNL_ARG_SRC, e.src.get()},
            {DNNL_ARG_WEIGHTS, e.weights.get()},
            {DNNL_ARG_DST, e.dst.get()}};
  if (!conv_.int8()) {  // (int8: finish_int8 adds it)
    e.bias = memory(b_md, c.engine, const_cast<float*>(op.bias.data()));
    e.args.push_back({DNNL_ARG_BIAS, e.bias.get()});
  } else {
    // One line of each layout (the batch is the outermost dimension of both).
    const memory::dims line_dims{1, in.channels, in.height, in.width}, origin{0, 0, 0, 0};
    const memory::desc from = in.md.submemory_desc(line_dims, origin);
    const memory::desc to = pd.src_desc().submemory_desc(line_dims, origin);
    e.src_line_bytes = static_cast<std::size_t>(pd.src_desc().data.format_desc.blocking.strides[0]);
    if (in.batch > 1 &&
        (from.get_size() != in.layout.sb * sizeof(float) || to.get_size() != e.src_line_bytes))
      throw Error("oneDNN chose an int8 layout whose lines are not contiguous (internal error)",
                  ErrorKind::internal);
    const memory::dims dims{in.batch, in.channels, in.height, in.width};
    // The AVX-512 kernel where both are channels-innermost; elsewhere
    // oneDNN's generated reorder beats the plain loop (which is the
    // kernel's reference).
    e.quantize_in_place = c.kernels.isa == Isa::avx512 &&
                          in.md == memory::desc(dims, dt::f32, tag::nhwc) &&
                          pd.src_desc() == memory::desc(dims, dt::u8, tag::nhwc);
    e.input_scale.assign(1, 1.0f);
    if (!e.quantize_in_place) {  // (generating a reorder costs as much as a few lines)
      dnnl::primitive_attr quantize;
      quantize.set_output_scales(0, {DNNL_RUNTIME_F32_VAL});
      e.line_from = memory(from, c.engine, nullptr);
      e.line_to = memory(to, c.engine, nullptr);
      e.quantize_line =
          dnnl::reorder(dnnl::reorder::primitive_desc(c.engine, from, c.engine, to, quantize));
      e.input_scale_mem = memory({{1}, dt::f32, tag::x}, c.engine, e.input_scale.data());
      e.quantize_args = {{DNNL_ARG_FROM, e.line_from.get()},
                         {DNNL_ARG_TO, e.line_to.get()},
                         {DNNL_ARG_ATTR_OUTPUT_SCALES, e.input_scale_mem.get()}};
    }
  }
  shapes_.push_back(std::move(e));
  return shapes_.back();
}

// Quantises each line of `in` into uint8 in `quantized`, with its own scale;
// returns the scales.
const std::vector<float>& ConvExecutor::quantize_lines(Context& c, Shape& e, const FeatureMaps& in,
                                                       std::uint8_t* quantized) {
  auto& scales = c.line_scales;
  scales.resize(in.batch);
  for (int b = 0; b < in.batch; ++b) {
    const float* line = in.values.data() + b * in.layout.sb;
    e.input_scale[0] = scales[b] = int8_input_scale(c.kernels.largest(line, in.layout.sb));
    if (e.quantize_in_place) {
      c.kernels.quantize_u8(line, in.layout.sb, e.input_scale[0], quantized + b * e.src_line_bytes);
      continue;
    }
    e.line_from.set_data_handle(const_cast<float*>(line));
    e.line_to.set_data_handle(quantized + b * e.src_line_bytes);
    c.execute(e.quantize_line, e.quantize_args);
  }
  return scales;
}

// out = relu(out / scale[b] + bias) on each line b's channel lanes.
void ConvExecutor::finish_int8(Context& c, FeatureMaps& out,
                               const std::vector<float>& scales) const {
  const ConvOp& op = conv_.op();
  const Layout& l = out.layout;
  const auto& kernels = c.kernels;
#pragma omp parallel for num_threads(c.threads) if (c.threads > 1) schedule(static)
  for (int b = 0; b < out.batch; ++b) {
    const float step = 1.0f / scales[b];
    if (l.block == 1 && l.sc == 1 && l.sx == static_cast<std::size_t>(out.channels) &&
        l.sy == l.sx * out.width) {  // nhwc: the line's pixels one after another
      kernels.scale_bias_relu(out.values.data() + l.at(b, 0, 0, 0),
                              static_cast<std::size_t>(out.height) * out.width, out.channels, step,
                              op.bias.data(), op.relu);
      continue;
    }
    for (int c0 = 0; c0 < out.channels; c0 += l.block)
      for (int y = 0; y < out.height; ++y)
        for (int x = 0; x < out.width; ++x)
          kernels.scale_bias_relu(out.values.data() + l.at(b, c0, y, x), 1,
                                  std::min(l.block, out.channels - c0), step, op.bias.data() + c0,
                                  op.relu);
  }
}

void ConvExecutor::run(Context& c, const OpData& data) {
  const ConvOp& op = conv_.op();
  FeatureMaps& in = *data.maps_in;
  FeatureMaps& out = *data.maps_out;
  in.fill_padding(0.0f);
  const int oh = conv_out(in.height, op.kernel_h, op.stride_h, op.pad_h);
  const int ow = conv_out(in.width, op.kernel_w, op.stride_w, op.pad_w);
  Shape& e = shape(c, in, oh, ow);
  const void* src = in.values.data();
  const std::vector<float>* scales = nullptr;
  if (conv_.int8()) {
    c.relayout.resize((e.src.get_desc().get_size() + sizeof(float) - 1) / sizeof(float));
    scales = &quantize_lines(c, e, in, reinterpret_cast<std::uint8_t*>(c.relayout.data()));
    src = c.relayout.data();
  } else if (e.reorder_input) {  // the plain input into the first layer; bf16 inputs
    c.relayout.resize((e.src.get_desc().get_size() + sizeof(float) - 1) / sizeof(float));
    e.user_src.set_data_handle(in.values.data());
    e.src.set_data_handle(c.relayout.data());
    c.execute(e.to_src, e.reorder_args);
    src = c.relayout.data();
  }
  out.reset(e.dst.get_desc(), in.batch, op.out_channels, oh, ow);
  out.widths.resize(in.batch);
  for (int b = 0; b < in.batch; ++b)
    out.widths[b] = conv_out(in.widths[b], op.kernel_w, op.stride_w, op.pad_w);
  e.src.set_data_handle(const_cast<void*>(src));
  e.dst.set_data_handle(out.values.data());
  c.execute(e.prim, e.args);
  c.stream.wait();
  if (scales) finish_int8(c, out, *scales);
}

namespace {

std::unique_ptr<PreparedOp> prepare_conv2d(const Op& op, const PrepareContext& context) {
  const auto& conv = *op_as<ConvOp>(op);
  auto prepared = std::make_unique<PreparedConvolutions>();
  // int8: only the scales are kept here; the int8 values are made when
  // oneDNN asks for a layout (PreparedConv::weights).
  prepared->convolutions.push_back(std::make_unique<PreparedConv>(
      conv,
      context.int8_convolution ? row_scales(conv.weight, conv.out_channels) : std::vector<float>{},
      context.bf16_convolution));
  return prepared;
}

std::unique_ptr<OpExecutor> make_conv2d_executor(const PreparedNetwork& prepared, std::size_t op,
                                                 OpPlacement) {
  const PreparedConv& conv = *prepared.op<PreparedConvolutions>(op).convolutions.front();
  return std::make_unique<ConvExecutor>(conv, conv.op().describe());
}

}  // namespace

void register_conv2d_onednn(ExecutorRegistry& registry) {
  registry.add<ConvOp>(make_conv2d_executor, prepare_conv2d);
}

}  // namespace ocrcore::detail::onednn
