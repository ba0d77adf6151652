// Batched engine: lines padded to a common width, convolutions and pooling as
// oneDNN primitives in the memory layout oneDNN prefers for them, the LSTM and
// the output layer on ocrcore's own per-ISA kernels (an fp32 LSTM's input
// projection on dnnl_sgemm).
//
// Padding never reaches a line's result: before each spatial layer the
// columns past each line's own width are set to what that layer would see
// outside the line (0 for convolution, -inf for max pooling), and the LSTM
// runs each line over its own frames only.
//
// Steady state allocates nothing but the results: primitives, their memory
// objects and all buffers are kept per batch shape and reused. The batch width
// is rounded up to a multiple of kWidthQuantum so that a stream of lines of
// varying width meets a few shapes, not one per batch; and a batch whose
// shape has no primitives yet may run at a wider shape that has them
// (ShapePlanner), since creating a shape's primitives costs several batches'
// worth of arithmetic.

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <numeric>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>

#include "backend/onednn/prepared_network.hpp"
#include "backend/onednn/shape_planner.hpp"
#include "backend/onednn/tuning.hpp"
#include "core/overloaded.hpp"
#include "kernels/kernels.hpp"
#include "nn/engine.hpp"
#include "nn/shapes.hpp"
#include "ocrcore/error.hpp"

namespace ocrcore::detail {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

constexpr int kWidthQuantum = 32;

void sgemm(char transa, char transb, int m, int n, int k, const float* a, int lda, const float* b,
           int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  dnnl_status_t st = dnnl_sgemm(transa, transb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success) throw Error("oneDNN sgemm failed (status " + std::to_string(st) + ")");
}

// Where element (b, c, y, x) of a 4-D feature map lives, for the plain
// (nhwc, nchw) and channel-blocked (nChw8c, nChw16c) layouts:
//   b * sb + (c / block) * sc + y * sy + x * sx + c % block.
struct Layout {
  std::size_t sb = 0, sc = 0, sy = 0, sx = 0;
  int block = 1;

  // False for layouts outside that family.
  static bool from(const memory::desc& md, Layout& out) {
    const dnnl_memory_desc_t& d = md.data;
    if (d.format_kind != dnnl_blocked || d.ndims != 4 || d.offset0 != 0) return false;
    const auto& bk = d.format_desc.blocking;
    if (bk.inner_nblks > 1 || (bk.inner_nblks == 1 && bk.inner_idxs[0] != 1)) return false;
    out.block = bk.inner_nblks == 1 ? static_cast<int>(bk.inner_blks[0]) : 1;
    out.sb = static_cast<std::size_t>(bk.strides[0]);
    out.sc = static_cast<std::size_t>(bk.strides[1]);
    out.sy = static_cast<std::size_t>(bk.strides[2]);
    out.sx = static_cast<std::size_t>(bk.strides[3]);
    return true;
  }
  std::size_t at(int b, int c, int y, int x) const {
    return b * sb + (c / block) * sc + y * sy + x * sx + c % block;
  }
};

// A batch of feature maps in some oneDNN layout, with each line's valid width.
struct Activations {
  int batch = 0, channels = 0, height = 0, width = 0;
  memory::desc md;
  Layout layout;
  std::vector<float> values;
  std::vector<int> widths;  // per line, <= width

  void reset(const memory::desc& desc, int b, int c, int h, int w) {
    batch = b, channels = c, height = h, width = w;
    md = desc;
    if (!Layout::from(md, layout))
      throw Error("oneDNN chose a memory layout ocrcore cannot mask (internal error)");
    values.resize(md.get_size() / sizeof(float));
  }

  // Sets columns [widths[b], width) of every line to `value`, channel lanes
  // only (the zeros of a blocked layout's padded channels must stay zeros).
  void fill_padding(float value) {
    const int block = layout.block;
    // Channels innermost and dense (nhwc): one run per row.
    const bool rows =
        block == 1 && layout.sc == 1 && layout.sx == static_cast<std::size_t>(channels);
    for (int b = 0; b < batch; ++b) {
      const int w0 = widths[b];
      if (w0 >= width) continue;
      if (rows) {
        for (int y = 0; y < height; ++y) {
          float* p = values.data() + layout.at(b, 0, y, w0);
          std::fill(p, p + static_cast<std::size_t>(width - w0) * channels, value);
        }
        continue;
      }
      for (int c0 = 0; c0 < channels; c0 += block) {
        const int lanes = std::min(block, channels - c0);
        for (int y = 0; y < height; ++y)
          for (int x = w0; x < width; ++x) {
            float* p = values.data() + layout.at(b, c0, y, x);
            std::fill(p, p + lanes, value);
          }
      }
    }
  }
};

memory::desc plain_desc(int b, int c, int h, int w) {
  return memory::desc({b, c, h, w}, dt::f32, tag::nhwc);
}

class OnednnEngine final : public Engine {
 public:
  OnednnEngine(std::shared_ptr<const PreparedNetwork> prepared, int threads,
               ConvAlgorithm conv_algorithm)
      : prepared_(std::move(prepared)),
        net_(prepared_->network()),
        threads_(std::max(1, threads)),
        kernels_(prepared_->kernels()),
        conv_algorithm_(conv_algorithm),
        engine_(dnnl::engine::kind::cpu, 0),
        stream_(engine_),
        image_conv_active_(prepared_->image_conv().active) {
    profile_.resize(net_.ops.size());
  }

  std::vector<LogProbs> forward(std::span<const LineTensor> lines) override {
    std::vector<LogProbs> out(lines.size());
    forward_into(lines, out);
    return out;
  }

  // forward() into the caller's results, one per line.
  void forward_into(std::span<const LineTensor> lines, std::span<LogProbs> out) {
    try {
      run(lines, out);
    } catch (const dnnl::error& e) {
      throw Error(std::string("oneDNN error: ") + e.what());
    }
  }

  void set_profiling(bool on) override { profiling_ = on; }
  std::vector<OpProfile> profile() const override {
    std::vector<OpProfile> out;
    // With the first pool folded into the first convolution, op 0's time
    // covers both.
    const bool folded = image_conv_active_ && prepared_->image_conv().pool;
    for (std::size_t i = 0; i < net_.ops.size(); ++i)
      out.push_back({op_name(i) + (folded && i == 0   ? " + maxpool"
                                   : folded && i == 1 ? " (folded)"
                                                      : ""),
                     profile_[i]});
    out.push_back({"log_softmax", softmax_seconds_});
    out.push_back({"primitive creation", profiled_setup_seconds_});
    return out;
  }

 private:
  // Op i as it runs: a composed Tucker chain is the one convolution.
  const ConvOp* as_conv(std::size_t i) const {
    if (const ConvOp* c = prepared_->composed(i)) return c;
    return std::get_if<ConvOp>(&net_.ops[i]);
  }

  void run(std::span<const LineTensor> lines, std::span<LogProbs> result) {
    check_line_heights(net_, lines);
    if (lines.empty()) return;
    // oneDNN sizes its OpenMP teams from this thread's setting; restore the
    // caller's on the way out.
    struct ThreadScope {
      int saved = omp_get_max_threads();
      explicit ThreadScope(int n) { omp_set_num_threads(n); }
      ~ThreadScope() { omp_set_num_threads(saved); }
    } thread_scope(threads_);

    // Widest first, so that the lines still running at any LSTM step are a prefix.
    const int B = static_cast<int>(lines.size());
    order_.resize(B);
    std::iota(order_.begin(), order_.end(), 0);
    // (std::sort with an index tie-break: stable_sort would allocate.)
    std::sort(order_.begin(), order_.end(), [&](int a, int b) {
      return lines[a].width != lines[b].width ? lines[a].width > lines[b].width : a < b;
    });

    const auto run_start = Clock::now();
    const double setup_before = setup_seconds_;
    Activations* cur = &a_;
    Activations* next = &b_;
    int W = std::max(lines[order_[0]].width, net_.min_width);
    W = shapes_.choose(B, (W + kWidthQuantum - 1) / kWidthQuantum * kWidthQuantum);
    {
      const int H = net_.input_height;
      cur->reset(input_desc(B, H, W), B, 1, H, W);
      cur->widths.resize(B);
      std::fill(cur->values.begin(), cur->values.end(), 0.0f);
      for (int b = 0; b < B; ++b) {
        const LineTensor& l = lines[order_[b]];
        cur->widths[b] = std::max(l.width, net_.min_width);
        for (int y = 0; y < H; ++y)
          std::copy_n(l.pixels.data() + static_cast<std::size_t>(y) * l.width, l.width,
                      cur->values.data() + cur->layout.at(b, 0, y, 0));
      }
    }

    bool collapsed = false;
    for (std::size_t i = 0; i < net_.ops.size(); ++i) {
      const auto start = profiling_ ? std::chrono::steady_clock::now() : Clock::time_point{};
      const Op& op = net_.ops[i];
      const std::size_t timed = i;
      if (i == 0 && image_conv_active_ && image_conv(*as_conv(0), cur, next)) {
        if (prepared_->image_conv().pool) ++i;  // the pool ran inside; its time counts for op 0
      } else if (const ConvOp* composed = prepared_->composed(i)) {
        convolve(i * 3, *composed, cur, next);
      } else {
        // Every kind of op is handled: a new one does not compile until it is.
        std::visit(Overloaded{
                       [&](const ConvOp& c) { convolve(i * 3, c, cur, next); },
                       [&](const TuckerOp& t) {
                         if (t.has_in) convolve(i * 3, t.in, cur, next);
                         convolve(i * 3 + 1, t.core, cur, next);
                         convolve(i * 3 + 2, t.out, cur, next);
                       },
                       [&](const PoolOp& p) { pool(i * 3, p, cur, next); },
                       [&](const ReluOp&) {
                         for (float& x : collapsed ? seq_ : cur->values)
                           x = std::max(x, 0.0f);
                       },
                       [&](const CollapseOp&) {
                         collapse(*cur);
                         collapsed = true;
                       },
                       [&](const LstmOp& l) { lstm(l, prepared_->lstm(i)); },
                       [&](const LinearOp& lin) { linear(lin, prepared_->dense(i)); },
                   },
                   op);
      }
      if (profiling_)
        profile_[timed] +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    const auto start = profiling_ ? std::chrono::steady_clock::now() : Clock::time_point{};
    split_log_softmax(result);
    if (profiling_)
      softmax_seconds_ +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double setup = setup_seconds_ - setup_before;
    if (profiling_) profiled_setup_seconds_ += setup;
    const double total = std::chrono::duration<double>(Clock::now() - run_start).count();
    if (!shapes_.ran(B, W, total - setup, setup)) drop_shapes();
  }

  // Forgets every shape's primitives (the weights stay reordered).
  void drop_shapes() {
    conv_.clear();
    pool_.clear();
    input_mds_.clear();
    image_mds_.clear();
  }

  using Clock = std::chrono::steady_clock;

  // Descriptor of the plain input batch, kept per shape (memory::dims is a
  // std::vector: building one allocates).
  const memory::desc& input_desc(int B, int H, int W) {
    const std::array<int, 3> shape{B, H, W};
    for (const auto& [s, md] : input_mds_)
      if (s == shape) return md;
    if (input_mds_.size() >= kMaxShapes) input_mds_.clear();
    input_mds_.emplace_back(shape, plain_desc(B, 1, H, W));
    return input_mds_.back().second;
  }

  std::string op_name(std::size_t i) const {
    if (const ConvOp* c = prepared_->composed(i))
      return "tucker composed " + std::to_string(c->in_channels) + "->" +
             std::to_string(c->out_channels);
    return std::visit(
        [](const auto& o) -> std::string {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, ConvOp>)
            return "conv " + std::to_string(o.in_channels) + "->" + std::to_string(o.out_channels) +
                   " " + std::to_string(o.kernel_h) + "x" + std::to_string(o.kernel_w);
          else if constexpr (std::is_same_v<T, TuckerOp>)
            return "tucker " + std::to_string(o.has_in ? o.in.in_channels : o.core.in_channels) +
                   "->" + std::to_string(o.out.out_channels) + " ranks " +
                   std::to_string(o.core.in_channels) + "," + std::to_string(o.core.out_channels);
          else if constexpr (std::is_same_v<T, PoolOp>)
            return "maxpool";
          else if constexpr (std::is_same_v<T, ReluOp>)
            return "relu";
          else if constexpr (std::is_same_v<T, CollapseOp>)
            return "collapse";
          else if constexpr (std::is_same_v<T, LstmOp>)
            return "lstm " + std::to_string(o.num_layers) + "x" + std::to_string(o.hidden_size);
          else
            return "linear " + std::to_string(o.in_features) + "->" +
                   std::to_string(o.out_features);
        },
        net_.ops[i]);
  }

  // Primitive arguments built once per cached primitive: the C++ API's
  // execute() copies its argument map into a new vector on every call.
  using ExecArgs = std::vector<dnnl_exec_arg_t>;
  void execute(const dnnl::primitive& p, const ExecArgs& args) {
    const dnnl_status_t st =
        dnnl_primitive_execute(p.get(), stream_.get(), static_cast<int>(args.size()), args.data());
    if (st != dnnl_success)
      throw Error("oneDNN primitive failed (status " + std::to_string(st) + ")");
  }

  // Per layer slot and input shape: the primitive, the memory objects it runs
  // on (pointed at the current buffers with set_data_handle), and the input
  // reorder when the previous layer's layout is not the one it wants.
  struct ConvPrim {
    memory::desc src_md;  // the layout the input arrives in
    dnnl::convolution_forward prim;
    memory src, dst, weights, bias;
    bool reorder_input = false;
    dnnl::reorder to_src;
    memory user_src;
    ExecArgs args, reorder_args;
    // int8 (PreparedNetwork::int8_conv): each line's input is quantised to
    // uint8 with its own scale (int8_input_scale of its largest value, so a
    // line's result never depends on its batch) by a one-line reorder run per
    // line; the primitive computes z = w_scale[oc] * (sum of q * w_q), its
    // weight scales fixed when it is created; finish_int8 then makes
    // relu(z / input_scale + bias) per line. (oneDNN 2.6 has no run-time
    // output scales for convolutions: the line's scale and what depends on
    // it, the bias and the ReLU, are applied after.)
    const PreparedNetwork::Int8Conv* int8 = nullptr;
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
  struct PoolPrim {
    memory::desc src_md;
    dnnl::pooling_forward prim;
    memory src, dst;
    ExecArgs args;
  };
  template <class T>
  static T* find_shape(std::vector<T>& cache, const memory::desc& src_md) {
    for (auto& e : cache)
      if (e.src_md == src_md) return &e;
    if (cache.size() >= kMaxShapes) cache.clear();
    return nullptr;
  }

  // The convolution oneDNN would run for `op` on `in` (int8 where
  // PreparedNetwork says so): the descriptor only, which generates no code.
  dnnl::convolution_forward::primitive_desc conv_pd(std::size_t slot, const ConvOp& op,
                                                    const Activations& in, int oh, int ow) {
    const bool int8 = prepared_->int8_conv(slot) != nullptr;
    const bool bf16 = prepared_->bf16_conv(slot);
    const dt src_type = int8 ? dt::u8 : bf16 ? dt::bf16 : dt::f32;
    const dt weight_type = int8 ? dt::s8 : bf16 ? dt::bf16 : dt::f32;
    memory::dims src_dims = {in.batch, in.channels, in.height, in.width};
    memory::dims dst_dims = {in.batch, op.out_channels, oh, ow};
    memory::dims w_dims = {op.out_channels, op.in_channels, op.kernel_h, op.kernel_w};
    const auto b_md = memory::desc({op.out_channels}, dt::f32, tag::x);
    dnnl::primitive_attr attr;
    if (op.relu && !int8) {
      dnnl::post_ops po;
      po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(po);
    }
    if (int8) attr.set_output_scales(1 << 1, prepared_->int8_conv(slot)->scale);  // per channel
    auto make_pd = [&](dnnl::algorithm alg, tag layout) {
      const memory::desc src(src_dims, src_type, layout);
      const memory::desc weights(w_dims, weight_type, tag::any);
      const memory::desc dst(dst_dims, dt::f32, layout);
      const memory::dims strides{op.stride_h, op.stride_w}, pad{op.pad_h, op.pad_w};
      // int8: the bias is added by finish_int8.
      auto desc = int8
                      ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, alg,
                                                        src, weights, dst, strides, pad, pad)
                      : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, alg,
                                                        src, weights, b_md, dst, strides, pad, pad);
      auto pd = dnnl::convolution_forward::primitive_desc(desc, attr, engine_);
      while (tuning::skip_conv_implementation(pd.impl_info_str(), int8) && pd.next_impl()) {
      }
      return pd;
    };
    if (src_type == dt::f32 && tuning::winograd(op, oh, conv_algorithm_)) try {
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

  ConvPrim& conv_prim(std::size_t slot, const ConvOp& op, const Activations& in, int oh, int ow) {
    auto& cache = conv_[slot];
    if (ConvPrim* hit = find_shape(cache, in.md)) return *hit;
    const auto start = Clock::now();
    ConvPrim e;
    e.src_md = in.md;
    e.int8 = prepared_->int8_conv(slot);
    const auto b_md = memory::desc({op.out_channels}, dt::f32, tag::x);
    const auto pd = conv_pd(slot, op, in, oh, ow);
    e.prim = dnnl::convolution_forward(pd);
    setup_seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
    e.src = memory(pd.src_desc(), engine_, nullptr);
    e.dst = memory(pd.dst_desc(), engine_, nullptr);
    // The model's shared copy, reordered into this layout once for all engines.
    e.weights = memory(pd.weights_desc(), engine_,
                       const_cast<void*>(prepared_->reordered_weights(slot, op, pd.weights_desc(),
                                                                      engine_, stream_)));
    e.reorder_input = !e.int8 && pd.src_desc() != in.md;
    if (e.reorder_input) {
      e.user_src = memory(in.md, engine_, nullptr);
      e.to_src = dnnl::reorder(e.user_src, e.src);
      e.reorder_args = {{DNNL_ARG_FROM, e.user_src.get()}, {DNNL_ARG_TO, e.src.get()}};
    }
    e.args = {{DNNL_ARG_SRC, e.src.get()},
              {DNNL_ARG_WEIGHTS, e.weights.get()},
              {DNNL_ARG_DST, e.dst.get()}};
    if (!e.int8) {  // (int8: finish_int8 adds it)
      e.bias = memory(b_md, engine_, const_cast<float*>(op.bias.data()));
      e.args.push_back({DNNL_ARG_BIAS, e.bias.get()});
    } else {
      // One line of each layout (the batch is the outermost dimension of both).
      const memory::dims line_dims{1, in.channels, in.height, in.width}, origin{0, 0, 0, 0};
      const memory::desc from = in.md.submemory_desc(line_dims, origin);
      const memory::desc to = pd.src_desc().submemory_desc(line_dims, origin);
      e.src_line_bytes =
          static_cast<std::size_t>(pd.src_desc().data.format_desc.blocking.strides[0]);
      if (in.batch > 1 &&
          (from.get_size() != in.layout.sb * sizeof(float) || to.get_size() != e.src_line_bytes))
        throw Error("oneDNN chose an int8 layout whose lines are not contiguous (internal error)");
      const memory::dims dims{in.batch, in.channels, in.height, in.width};
      // The AVX-512 kernel where both are channels-innermost; elsewhere
      // oneDNN's generated reorder beats the plain loop (which is the
      // kernel's reference).
      e.quantize_in_place = kernels_.isa == Isa::avx512 &&
                            in.md == memory::desc(dims, dt::f32, tag::nhwc) &&
                            pd.src_desc() == memory::desc(dims, dt::u8, tag::nhwc);
      e.input_scale.assign(1, 1.0f);
      if (!e.quantize_in_place) {  // (generating a reorder costs as much as a few lines)
        dnnl::primitive_attr quantize;
        quantize.set_output_scales(0, {DNNL_RUNTIME_F32_VAL});
        e.line_from = memory(from, engine_, nullptr);
        e.line_to = memory(to, engine_, nullptr);
        e.quantize_line =
            dnnl::reorder(dnnl::reorder::primitive_desc(engine_, from, engine_, to, quantize));
        e.input_scale_mem = memory({{1}, dt::f32, tag::x}, engine_, e.input_scale.data());
        e.quantize_args = {{DNNL_ARG_FROM, e.line_from.get()},
                           {DNNL_ARG_TO, e.line_to.get()},
                           {DNNL_ARG_ATTR_OUTPUT_SCALES, e.input_scale_mem.get()}};
      }
    }
    cache.push_back(std::move(e));
    return cache.back();
  }

  // Quantises each line of `in` into uint8 in `quantized`, with its own
  // scale (ConvPrim); returns the scales.
  const std::vector<float>& quantize_lines(ConvPrim& e, const Activations& in,
                                           std::uint8_t* quantized) {
    line_scales_.resize(in.batch);
    for (int b = 0; b < in.batch; ++b) {
      const float* line = in.values.data() + b * in.layout.sb;
      e.input_scale[0] = line_scales_[b] = int8_input_scale(kernels_.largest(line, in.layout.sb));
      if (e.quantize_in_place) {
        kernels_.quantize_u8(line, in.layout.sb, e.input_scale[0],
                             quantized + b * e.src_line_bytes);
        continue;
      }
      e.line_from.set_data_handle(const_cast<float*>(line));
      e.line_to.set_data_handle(quantized + b * e.src_line_bytes);
      execute(e.quantize_line, e.quantize_args);
    }
    return line_scales_;
  }

  // out = relu(out / scale[b] + bias) on each line b's channel lanes.
  void finish_int8(Activations& out, const ConvOp& op, const std::vector<float>& scales) const {
    const Layout& l = out.layout;
#pragma omp parallel for num_threads(threads_) if (threads_ > 1) schedule(static)
    for (int b = 0; b < out.batch; ++b) {
      const float step = 1.0f / scales[b];
      if (l.block == 1 && l.sc == 1 && l.sx == static_cast<std::size_t>(out.channels) &&
          l.sy == l.sx * out.width) {  // nhwc: the line's pixels one after another
        kernels_.scale_bias_relu(out.values.data() + l.at(b, 0, 0, 0),
                                 static_cast<std::size_t>(out.height) * out.width, out.channels,
                                 step, op.bias.data(), op.relu);
        continue;
      }
      for (int c0 = 0; c0 < out.channels; c0 += l.block)
        for (int y = 0; y < out.height; ++y)
          for (int x = 0; x < out.width; ++x)
            kernels_.scale_bias_relu(out.values.data() + l.at(b, c0, y, x), 1,
                                     std::min(l.block, out.channels - c0), step,
                                     op.bias.data() + c0, op.relu);
    }
  }

  void convolve(std::size_t slot, const ConvOp& op, Activations*& in, Activations*& out) {
    in->fill_padding(0.0f);
    const int oh = conv_out(in->height, op.kernel_h, op.stride_h, op.pad_h);
    const int ow = conv_out(in->width, op.kernel_w, op.stride_w, op.pad_w);
    ConvPrim& e = conv_prim(slot, op, *in, oh, ow);
    const void* src = in->values.data();
    const std::vector<float>* scales = nullptr;
    if (e.int8) {
      relayout_.resize((e.src.get_desc().get_size() + sizeof(float) - 1) / sizeof(float));
      scales = &quantize_lines(e, *in, reinterpret_cast<std::uint8_t*>(relayout_.data()));
      src = relayout_.data();
    } else if (e.reorder_input) {  // the plain input into the first layer; bf16 inputs
      relayout_.resize((e.src.get_desc().get_size() + sizeof(float) - 1) / sizeof(float));
      e.user_src.set_data_handle(in->values.data());
      e.src.set_data_handle(relayout_.data());
      execute(e.to_src, e.reorder_args);
      src = relayout_.data();
    }
    out->reset(e.dst.get_desc(), in->batch, op.out_channels, oh, ow);
    out->widths.resize(in->batch);
    for (int b = 0; b < in->batch; ++b)
      out->widths[b] = conv_out(in->widths[b], op.kernel_w, op.stride_w, op.pad_w);
    e.src.set_data_handle(const_cast<void*>(src));
    e.dst.set_data_handle(out->values.data());
    execute(e.prim, e.args);
    stream_.wait();
    if (scales) finish_int8(*out, op, *scales);
    std::swap(in, out);
  }

  // Output descriptor per input shape: the layout oneDNN's own first
  // convolution would produce (what the next layer was planned around), at
  // the pooled size when the pool is folded in. False when that layout has
  // channel runs the kernel cannot write; the layer then runs on oneDNN.
  const memory::desc* image_desc(const ConvOp& op, const Activations& in) {
    for (const auto& [src, dst] : image_mds_)
      if (src == in.md) return &dst;
    if (image_mds_.size() >= kMaxShapes) image_mds_.clear();
    // Only the descriptor: the kernel runs this layer, so oneDNN's code for
    // it would never run (generating it cost 2-3 ms per shape).
    Layout l;
    if (!Layout::from(conv_pd(0, op, in, in.height, in.width).dst_desc(), l)) return nullptr;
    tag t;
    if (l.block == 1 && l.sc == 1)
      t = tag::nhwc;
    else if (l.block == 8)
      t = tag::nChw8c;
    else if (l.block == 16)
      t = tag::nChw16c;
    else
      return nullptr;
    const bool pool = prepared_->image_conv().pool;
    const int oh = pool ? in.height / 2 : in.height;
    const int ow = pool ? in.width / 2 : in.width;
    image_mds_.emplace_back(in.md, memory::desc({in.batch, op.out_channels, oh, ow}, dt::f32, t));
    return &image_mds_.back().second;
  }

  bool image_conv(const ConvOp& op, Activations*& in, Activations*& out) {
    const memory::desc* md = image_desc(op, *in);
    if (!md) {
      image_conv_active_ = false;  // oneDNN's own path from now on
      return false;
    }
    const auto& plan = prepared_->image_conv();
    const int B = in->batch, H = in->height, W = in->width;
    const int oh = plan.pool ? H / 2 : H, ow = plan.pool ? W / 2 : W;
    // Each line with a one-pixel zero border (columns past its width are
    // already zero in the plain input).
    const std::size_t stride = static_cast<std::size_t>(W) + 2,
                      plane = stride * (static_cast<std::size_t>(H) + 2);
    padded_.assign(plane * B, 0.0f);
    for (int b = 0; b < B; ++b)
      for (int y = 0; y < H; ++y)
        std::copy_n(in->values.data() + in->layout.at(b, 0, y, 0), W,
                    padded_.data() + b * plane + (y + 1) * stride + 1);
    out->reset(*md, B, op.out_channels, oh, ow);
    out->widths.resize(B);
    for (int b = 0; b < B; ++b)
      out->widths[b] = plan.pool ? pool_out(in->widths[b], 2, 2, 0, false) : in->widths[b];
    constexpr int kRows = 4;  // output rows per task
    const int chunks = (oh + kRows - 1) / kRows;
#pragma omp parallel for collapse(2) num_threads(threads_) if (threads_ > 1) schedule(static)
    for (int b = 0; b < B; ++b)
      for (int r = 0; r < chunks; ++r) {
        kernels::ImageConv a;
        a.input = padded_.data() + b * plane;
        a.input_stride = stride;
        a.out_cols = ow;
        a.row_begin = r * kRows;
        a.row_end = std::min(oh, a.row_begin + kRows);
        a.channels = op.out_channels;
        a.weights = plan.weights.data();
        a.bias = op.bias.data();
        a.relu = op.relu;
        a.pool = plan.pool;
        a.output = out->values.data() + b * out->layout.sb;
        a.out_sy = out->layout.sy;
        a.out_sx = out->layout.sx;
        a.out_sc = out->layout.sc;
        a.out_block = out->layout.block;
        kernels_.image_conv(a);
      }
    std::swap(in, out);
    return true;
  }

  void pool(std::size_t slot, const PoolOp& op, Activations*& in, Activations*& out) {
    // Outside a line, max pooling sees nothing: -inf never wins a window.
    in->fill_padding(std::numeric_limits<float>::lowest());
    const int oh = pool_out(in->height, op.kernel_h, op.stride_h, op.pad_h, op.ceil_mode);
    const int ow = pool_out(in->width, op.kernel_w, op.stride_w, op.pad_w, op.ceil_mode);
    auto& cache = pool_[slot];
    PoolPrim* e = find_shape(cache, in->md);
    if (!e) {
      const auto start = Clock::now();
      PoolPrim n;
      n.src_md = in->md;
      memory::dims dst_dims = {in->batch, in->channels, oh, ow};
      // Right padding that makes oneDNN's output size equal PyTorch's (ceil mode
      // overhang included); padded cells are ignored by max pooling.
      auto pad_r = [](int in_len, int out_len, int k, int s, int p) {
        return std::max(p, (out_len - 1) * s + k - in_len - p);
      };
      dnnl::pooling_forward::desc desc(
          dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, in->md,
          memory::desc(dst_dims, dt::f32, tag::any), {op.stride_h, op.stride_w},
          {op.kernel_h, op.kernel_w}, {op.pad_h, op.pad_w},
          {pad_r(in->height, oh, op.kernel_h, op.stride_h, op.pad_h),
           pad_r(in->width, ow, op.kernel_w, op.stride_w, op.pad_w)});
      auto pd = dnnl::pooling_forward::primitive_desc(desc, engine_);
      n.prim = dnnl::pooling_forward(pd);
      setup_seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
      n.src = memory(pd.src_desc(), engine_, nullptr);
      n.dst = memory(pd.dst_desc(), engine_, nullptr);
      n.args = {{DNNL_ARG_SRC, n.src.get()}, {DNNL_ARG_DST, n.dst.get()}};
      cache.push_back(std::move(n));
      e = &cache.back();
    }
    out->reset(e->dst.get_desc(), in->batch, in->channels, oh, ow);
    out->widths.resize(in->batch);
    for (int b = 0; b < in->batch; ++b)
      out->widths[b] = pool_out(in->widths[b], op.kernel_w, op.stride_w, op.pad_w, op.ceil_mode);
    e->src.set_data_handle(in->values.data());
    e->dst.set_data_handle(out->values.data());
    execute(e->prim, e->args);
    stream_.wait();
    std::swap(in, out);
  }

  // Feature maps -> time-major frames seq_[t][b][c * H + y]; frames past a
  // line's end are zero.
  void collapse(const Activations& in) {
    T_ = in.width;
    B_ = in.batch;
    D_ = in.channels * in.height;
    frames_ = in.widths;
    seq_.assign(static_cast<std::size_t>(T_) * B_ * D_, 0.0f);
    if (in.height == 1 && in.layout.block == 1 && in.layout.sc == 1) {
      // Channels innermost (nhwc), as oneDNN lays out the last convolution:
      // each frame is already one contiguous feature vector.
      for (int b = 0; b < B_; ++b)
        for (int t = 0; t < frames_[b]; ++t)
          std::memcpy(seq_.data() + (static_cast<std::size_t>(t) * B_ + b) * D_,
                      in.values.data() + in.layout.at(b, 0, 0, t), sizeof(float) * D_);
      return;
    }
    for (int b = 0; b < B_; ++b)
      for (int c = 0; c < in.channels; ++c)
        for (int y = 0; y < in.height; ++y) {
          const float* src = in.values.data() + in.layout.at(b, c, y, 0);
          float* dst = seq_.data() + static_cast<std::size_t>(b) * D_ + c * in.height + y;
          for (int t = 0; t < frames_[b]; ++t)
            dst[static_cast<std::size_t>(t) * B_ * D_] = src[t * in.layout.sx];
        }
  }

  // Lines with frames > t, a prefix because lines are sorted widest first.
  int active_at(int t) const {
    int n = 0;
    while (n < B_ && frames_[n] > t)
      ++n;
    return n;
  }

  void lstm(const LstmOp& op, const std::vector<PreparedNetwork::LstmLayer>& packed) {
    const int N = op.hidden_size, dirs = op.directions(), G = 4 * N * dirs;
    const std::size_t rows = static_cast<std::size_t>(T_) * B_;
    for (int l = 0; l < op.num_layers; ++l) {
      const PreparedNetwork::LstmLayer& p = packed[l];
      const int Din = op.layer_input(l);
      // Input projection of every frame of every line, both directions: one
      // GEMM (the step kernel adds the biases).
      gates_.resize(rows * G);
      if (prepared_->lstm_precision() == Precision::int8) {
        kernels::Int8Projection proj;
        proj.weights = &p.w_ih_int8;
        proj.x = seq_.data();
        proj.x_stride = Din;
        proj.rows = static_cast<int>(rows);
        proj.out = gates_.data();
        proj.out_stride = G;
        kernels_.int8_projection(proj);
      } else {
        sgemm('N', 'T', static_cast<int>(rows), G, Din, seq_.data(), Din, p.w_ih.data(), Din, 0.0f,
              gates_.data(), G);
      }

      out_.assign(rows * N * dirs, 0.0f);
      for (int d = 0; d < dirs; ++d) {
        DirectionState& st = state_[d];
        st.h.assign(static_cast<std::size_t>(B_) * N, 0.0f);
        st.c.assign(static_cast<std::size_t>(B_) * N, 0.0f);
        const int padded = prepared_->lstm_precision() == Precision::int8
                               ? p.recurrent_int8[d].padded
                               : p.recurrent[d].padded;
        st.scratch.resize(static_cast<std::size_t>(kernels::kStepLines) * padded);
      }
      // The two directions are independent: one thread each.
#pragma omp parallel for num_threads(dirs) if (threads_ > 1 && dirs > 1) schedule(static, 1)
      for (int d = 0; d < dirs; ++d)
        run_direction(p, d, dirs, N, G);
      seq_.swap(out_);
      D_ = N * dirs;
    }
  }

  void run_direction(const PreparedNetwork::LstmLayer& p, int d, int dirs, int N, int G) {
    DirectionState& s = state_[d];  // zeroed and sized by lstm()
    const bool int8 = prepared_->lstm_precision() == Precision::int8;
    const auto run_step = int8 ? kernels_.lstm_step_int8 : kernels_.lstm_step;
    kernels::LstmStep step;
    step.weights = &p.recurrent[d];
    step.weights_int8 = &p.recurrent_int8[d];
    step.gates_stride = G;
    step.h = s.h.data();
    step.c = s.c.data();
    step.y_stride = static_cast<std::size_t>(N) * dirs;
    step.scratch = s.scratch.data();
    for (int i = 0; i < T_; ++i) {
      // Backward: a line starts at its own last frame, with zero state.
      const int t = d == 0 ? i : T_ - 1 - i;
      step.lines = active_at(t);
      step.reverse_columns = i % 2 == 1;  // see LstmStep: keeps part of W_hh in L1
      step.gates_in = gates_.data() + static_cast<std::size_t>(t) * B_ * G + d * 4 * N;
      step.y = out_.data() + static_cast<std::size_t>(t) * B_ * N * dirs + d * N;
      run_step(step);
    }
  }

  void linear(const LinearOp& op, const kernels::PackedDense& weights) {
    const int rows = T_ * B_;
    out_.resize(static_cast<std::size_t>(rows) * op.out_features);
    // Blocks of rows, each a whole number of the kernel's 4-row tiles.
    constexpr int kRowsPerTask = 64;
    const int tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
#pragma omp parallel for num_threads(threads_) if (threads_ > 1 && tasks > 1) schedule(static)
    for (int task = 0; task < tasks; ++task) {
      const int r0 = task * kRowsPerTask;
      kernels::DenseProjection p;
      p.weights = &weights;
      p.x = seq_.data() + static_cast<std::size_t>(r0) * op.in_features;
      p.x_stride = op.in_features;
      p.rows = std::min(kRowsPerTask, rows - r0);
      p.out = out_.data() + static_cast<std::size_t>(r0) * op.out_features;
      p.out_stride = op.out_features;
      p.relu = op.relu;
      kernels_.dense(p);
    }
    seq_.swap(out_);
    D_ = op.out_features;
  }

  // Log-softmax of each line's own frames, straight into its result.
  void split_log_softmax(std::span<LogProbs> result) const {
    for (int b = 0; b < B_; ++b) {
      LogProbs& lp = result[order_[b]];
      lp.frames = frames_[b];
      lp.classes = D_;
      lp.values.resize(static_cast<std::size_t>(lp.frames) * D_);
      for (int t = 0; t < lp.frames; ++t)
        kernels_.log_softmax(seq_.data() + (static_cast<std::size_t>(t) * B_ + b) * D_,
                             lp.values.data() + static_cast<std::size_t>(t) * D_, D_);
    }
  }

  struct DirectionState {
    std::vector<float> h, c, scratch;
  };

  std::shared_ptr<const PreparedNetwork> prepared_;  // the model's, shared by all engines
  const CompiledNetwork& net_;
  int threads_;
  const kernels::KernelTable& kernels_;
  ConvAlgorithm conv_algorithm_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::map<std::size_t, std::vector<ConvPrim>> conv_;
  std::map<std::size_t, std::vector<PoolPrim>> pool_;
  Activations a_, b_;
  std::vector<float> relayout_;
  std::vector<float> line_scales_;
  std::vector<std::pair<std::array<int, 3>, memory::desc>> input_mds_;
  bool image_conv_active_;  // cleared if oneDNN picks a layout the kernel cannot write
  std::vector<std::pair<memory::desc, memory::desc>> image_mds_;
  std::vector<float> padded_;
  std::vector<int> order_;
  // Sequence state after the collapse: T_ frames x B_ lines x D_ features.
  int T_ = 0, B_ = 0, D_ = 0;
  std::vector<int> frames_;
  std::vector<float> seq_, gates_, out_;
  std::array<DirectionState, 2> state_;
  ShapePlanner shapes_;
  double setup_seconds_ = 0;  // creating primitives, over the engine's life
  double profiled_setup_seconds_ = 0;
  bool profiling_ = false;
  std::vector<double> profile_;
  double softmax_seconds_ = 0;
};

// A batch of at least as many lines as threads is split between the threads,
// each running its share through the whole network on an engine of its own
// (one thread each); smaller batches run on one engine whose ops are split
// between the threads. Splitting each op left the second thread mostly idle
// on small models: the compact int8 model read 974 lines/s with two threads
// against 910 with one (bench_runtime, uw3-dev lines). The engines share the
// prepared weights; each adds only its scratch and primitives.
class LineParallelEngine final : public Engine {
 public:
  LineParallelEngine(const std::shared_ptr<const PreparedNetwork>& prepared, int threads,
                     ConvAlgorithm conv_algorithm)
      : whole_(prepared, threads, conv_algorithm) {
    for (int t = 0; t < threads; ++t)
      shares_.push_back(std::make_unique<OnednnEngine>(prepared, 1, conv_algorithm));
  }

  std::vector<LogProbs> forward(std::span<const LineTensor> lines) override {
    const std::size_t n = shares_.size();
    if (lines.size() < n || profiling_) return whole_.forward(lines);
    std::vector<LogProbs> out(lines.size());
    std::exception_ptr error;
#pragma omp parallel for num_threads(static_cast <int>(n)) schedule(static, 1)
    for (std::size_t t = 0; t < n; ++t) {
      const std::size_t begin = lines.size() * t / n, end = lines.size() * (t + 1) / n;
      try {
        shares_[t]->forward_into(lines.subspan(begin, end - begin),
                                 std::span(out).subspan(begin, end - begin));
      } catch (...) {
#pragma omp critical
        error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    return out;
  }

  // Profiles are of the whole-batch engine (its ops split between threads).
  void set_profiling(bool on) override {
    profiling_ = on;
    whole_.set_profiling(on);
  }
  std::vector<OpProfile> profile() const override {
    return whole_.profile();
  }

 private:
  OnednnEngine whole_;
  std::vector<std::unique_ptr<OnednnEngine>> shares_;
  bool profiling_ = false;
};

}  // namespace

std::unique_ptr<Engine> make_onednn_engine(const Model& model, const RecognizerOptions& options) {
  try {
    auto prepared = prepared_network(model, options.isa, options.tucker, options.lstm_precision,
                                     options.conv_precision);
    if (options.threads > 1)
      return std::make_unique<LineParallelEngine>(prepared, options.threads,
                                                  options.conv_algorithm);
    return std::make_unique<OnednnEngine>(std::move(prepared), 1, options.conv_algorithm);
  } catch (const dnnl::error& e) {
    throw Error(std::string("oneDNN backend unavailable: ") + e.what());
  }
}

}  // namespace ocrcore::detail
