// Batched engine: lines padded to the widest, activations in NHWC, oneDNN
// primitives for convolution and pooling, dnnl_sgemm for the LSTM and the
// output layer. Padding never reaches a line's result: before each spatial
// layer the columns past each line's own width are set to what that layer
// would see outside the line (0 for convolution, -inf for max pooling), and
// the LSTM runs each line over its own frames only.

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <oneapi/dnnl/dnnl.hpp>

#include "nn/engine.hpp"
#include "nn/shapes.hpp"
#include "ocrcore/error.hpp"

namespace ocrcore::detail {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

void sgemm(char transa, char transb, int m, int n, int k, const float* a, int lda, const float* b,
           int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  dnnl_status_t st = dnnl_sgemm(transa, transb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success) throw Error("oneDNN sgemm failed (status " + std::to_string(st) + ")");
}

float sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}

// A batch of feature maps in NHWC with each line's valid width.
struct Activations {
  int batch = 0, channels = 0, height = 0, width = 0;
  std::vector<float> values;
  std::vector<int> widths;  // per line, <= width

  void resize(int b, int c, int h, int w) {
    batch = b, channels = c, height = h, width = w;
    values.resize(static_cast<std::size_t>(b) * h * w * c);
  }
  // Sets columns [widths[b], width) of every line to `value`.
  void fill_padding(float value) {
    for (int b = 0; b < batch; ++b) {
      if (widths[b] >= width) continue;
      for (int y = 0; y < height; ++y) {
        float* row = values.data() + (static_cast<std::size_t>(b) * height + y) * width * channels;
        std::fill(row + static_cast<std::size_t>(widths[b]) * channels,
                  row + static_cast<std::size_t>(width) * channels, value);
      }
    }
  }
};

class OnednnEngine final : public Engine {
 public:
  OnednnEngine(const CompiledNetwork& network, int threads)
      : net_(network),
        threads_(std::max(1, threads)),
        engine_(dnnl::engine::kind::cpu, 0),
        stream_(engine_) {}

  std::vector<LogProbs> forward(std::span<const LineTensor> lines) override {
    try {
      return run(lines);
    } catch (const dnnl::error& e) {
      throw Error(std::string("oneDNN error: ") + e.what());
    }
  }

 private:
  std::vector<LogProbs> run(std::span<const LineTensor> lines) {
    check_line_heights(net_, lines);
    if (lines.empty()) return {};
    // oneDNN sizes its OpenMP teams from this thread's setting; restore the
    // caller's on the way out.
    struct ThreadScope {
      int saved = omp_get_max_threads();
      explicit ThreadScope(int n) { omp_set_num_threads(n); }
      ~ThreadScope() { omp_set_num_threads(saved); }
    } thread_scope(threads_);

    // Widest first, so that the lines still running at any LSTM step are a prefix.
    const int B = static_cast<int>(lines.size());
    std::vector<int> order(B);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return lines[a].width > lines[b].width; });

    Activations* cur = &a_;
    Activations* next = &b_;
    {
      const int W = std::max(lines[order[0]].width, net_.min_width);
      cur->resize(B, 1, net_.input_height, W);
      cur->widths.resize(B);
      std::fill(cur->values.begin(), cur->values.end(), 0.0f);
      for (int b = 0; b < B; ++b) {
        const LineTensor& l = lines[order[b]];
        cur->widths[b] = std::max(l.width, net_.min_width);
        for (int y = 0; y < l.height; ++y)
          std::copy_n(l.pixels.data() + static_cast<std::size_t>(y) * l.width, l.width,
                      cur->values.data() + (static_cast<std::size_t>(b) * l.height + y) * W);
      }
    }

    bool collapsed = false;
    for (std::size_t i = 0; i < net_.ops.size(); ++i) {
      const Op& op = net_.ops[i];
      if (auto* c = std::get_if<ConvOp>(&op)) {
        convolve(i * 3, *c, *cur, *next);
        std::swap(cur, next);
      } else if (auto* t = std::get_if<TuckerOp>(&op)) {
        if (t->has_in) {
          convolve(i * 3, t->in, *cur, *next);
          std::swap(cur, next);
        }
        convolve(i * 3 + 1, t->core, *cur, *next);
        std::swap(cur, next);
        convolve(i * 3 + 2, t->out, *cur, *next);
        std::swap(cur, next);
      } else if (auto* p = std::get_if<PoolOp>(&op)) {
        pool(i * 3, *p, *cur, *next);
        std::swap(cur, next);
      } else if (std::holds_alternative<ReluOp>(op)) {
        auto& v = collapsed ? seq_ : cur->values;
        for (float& x : v)
          x = std::max(x, 0.0f);
      } else if (std::holds_alternative<CollapseOp>(op)) {
        collapse(*cur);
        collapsed = true;
      } else if (auto* l = std::get_if<LstmOp>(&op)) {
        lstm(*l);
      } else if (auto* lin = std::get_if<LinearOp>(&op)) {
        linear(*lin);
      }
    }
    return split_log_softmax(order);
  }

  // One cached primitive per layer slot; rebuilt when the batch shape changes.
  struct ConvCache {
    memory::dims src_dims;
    dnnl::convolution_forward prim;
    dnnl::convolution_forward::primitive_desc pd;
    memory weights, bias;
  };
  struct PoolCache {
    memory::dims src_dims;
    dnnl::pooling_forward prim;
    dnnl::pooling_forward::primitive_desc pd;
  };

  void convolve(std::size_t slot, const ConvOp& op, Activations& in, Activations& out) {
    in.fill_padding(0.0f);
    const int oh = conv_out(in.height, op.kernel_h, op.stride_h, op.pad_h);
    const int ow = conv_out(in.width, op.kernel_w, op.stride_w, op.pad_w);
    out.resize(in.batch, op.out_channels, oh, ow);
    out.widths.resize(in.batch);
    for (int b = 0; b < in.batch; ++b)
      out.widths[b] = conv_out(in.widths[b], op.kernel_w, op.stride_w, op.pad_w);

    memory::dims src_dims = {in.batch, in.channels, in.height, in.width};
    ConvCache& cache = conv_cache_[slot];
    if (cache.src_dims != src_dims) {
      memory::dims dst_dims = {in.batch, op.out_channels, oh, ow};
      memory::dims w_dims = {op.out_channels, op.in_channels, op.kernel_h, op.kernel_w};
      auto src_md = memory::desc(src_dims, dt::f32, tag::nhwc);
      auto dst_md = memory::desc(dst_dims, dt::f32, tag::nhwc);
      auto w_md = memory::desc(w_dims, dt::f32, tag::any);
      auto b_md = memory::desc({op.out_channels}, dt::f32, tag::x);
      dnnl::convolution_forward::desc desc(
          dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md, w_md,
          b_md, dst_md, {op.stride_h, op.stride_w}, {op.pad_h, op.pad_w}, {op.pad_h, op.pad_w});
      dnnl::primitive_attr attr;
      if (op.relu) {
        dnnl::post_ops po;
        po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
        attr.set_post_ops(po);
      }
      cache.pd = dnnl::convolution_forward::primitive_desc(desc, attr, engine_);
      cache.prim = dnnl::convolution_forward(cache.pd);
      // Weights go to the layout this implementation wants, once per shape.
      if (!cache.weights || cache.weights.get_desc() != cache.pd.weights_desc()) {
        auto user_w =
            memory({w_dims, dt::f32, tag::oihw}, engine_, const_cast<float*>(op.weight.data()));
        cache.weights = memory(cache.pd.weights_desc(), engine_);
        dnnl::reorder(user_w, cache.weights).execute(stream_, user_w, cache.weights);
        cache.bias = memory(b_md, engine_, const_cast<float*>(op.bias.data()));
      }
      cache.src_dims = src_dims;
    }
    auto src = memory(cache.pd.src_desc(), engine_, in.values.data());
    auto dst = memory(cache.pd.dst_desc(), engine_, out.values.data());
    cache.prim.execute(stream_, {{DNNL_ARG_SRC, src},
                                 {DNNL_ARG_WEIGHTS, cache.weights},
                                 {DNNL_ARG_BIAS, cache.bias},
                                 {DNNL_ARG_DST, dst}});
    stream_.wait();
  }

  void pool(std::size_t slot, const PoolOp& op, Activations& in, Activations& out) {
    // Outside a line, max pooling sees nothing: -inf never wins a window.
    in.fill_padding(std::numeric_limits<float>::lowest());
    const int oh = pool_out(in.height, op.kernel_h, op.stride_h, op.pad_h, op.ceil_mode);
    const int ow = pool_out(in.width, op.kernel_w, op.stride_w, op.pad_w, op.ceil_mode);
    out.resize(in.batch, in.channels, oh, ow);
    out.widths.resize(in.batch);
    for (int b = 0; b < in.batch; ++b)
      out.widths[b] = pool_out(in.widths[b], op.kernel_w, op.stride_w, op.pad_w, op.ceil_mode);

    memory::dims src_dims = {in.batch, in.channels, in.height, in.width};
    PoolCache& cache = pool_cache_[slot];
    if (cache.src_dims != src_dims) {
      memory::dims dst_dims = {in.batch, in.channels, oh, ow};
      // Right padding that makes oneDNN's output size equal PyTorch's (ceil mode
      // overhang included); padded cells are ignored by max pooling.
      auto pad_r = [](int in_len, int out_len, int k, int s, int p) {
        return std::max(p, (out_len - 1) * s + k - in_len - p);
      };
      dnnl::pooling_forward::desc desc(
          dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max,
          memory::desc(src_dims, dt::f32, tag::nhwc), memory::desc(dst_dims, dt::f32, tag::nhwc),
          {op.stride_h, op.stride_w}, {op.kernel_h, op.kernel_w}, {op.pad_h, op.pad_w},
          {pad_r(in.height, oh, op.kernel_h, op.stride_h, op.pad_h),
           pad_r(in.width, ow, op.kernel_w, op.stride_w, op.pad_w)});
      cache.pd = dnnl::pooling_forward::primitive_desc(desc, engine_);
      cache.prim = dnnl::pooling_forward(cache.pd);
      cache.src_dims = src_dims;
    }
    auto src = memory(cache.pd.src_desc(), engine_, in.values.data());
    auto dst = memory(cache.pd.dst_desc(), engine_, out.values.data());
    cache.prim.execute(stream_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    stream_.wait();
  }

  // NHWC maps -> time-major frames seq_[t][b][c * H + y]; frames past a line's
  // end are zero.
  void collapse(const Activations& in) {
    T_ = in.width;
    B_ = in.batch;
    D_ = in.channels * in.height;
    frames_ = in.widths;
    seq_.assign(static_cast<std::size_t>(T_) * B_ * D_, 0.0f);
    for (int b = 0; b < B_; ++b)
      for (int y = 0; y < in.height; ++y)
        for (int t = 0; t < frames_[b]; ++t) {
          const float* src =
              in.values.data() +
              ((static_cast<std::size_t>(b) * in.height + y) * in.width + t) * in.channels;
          float* dst = seq_.data() + (static_cast<std::size_t>(t) * B_ + b) * D_;
          for (int c = 0; c < in.channels; ++c)
            dst[c * in.height + y] = src[c];
        }
  }

  // Lines with frames > t, a prefix because lines are sorted widest first.
  int active_at(int t) const {
    int n = 0;
    while (n < B_ && frames_[n] > t)
      ++n;
    return n;
  }

  void lstm(const LstmOp& op) {
    const int N = op.hidden_size, dirs = op.directions(), G = 4 * N * dirs;
    for (int l = 0; l < op.num_layers; ++l) {
      const int Din = op.layer_input(l);
      // Input projection of every frame of every line, both directions: one GEMM.
      gates_.resize(static_cast<std::size_t>(T_) * B_ * G);
      for (std::size_t r = 0; r < static_cast<std::size_t>(T_) * B_; ++r)
        for (int d = 0; d < dirs; ++d)
          std::copy(op.layers[l][d].bias.begin(), op.layers[l][d].bias.end(),
                    gates_.begin() + static_cast<std::ptrdiff_t>(r * G + d * 4 * N));
      for (int d = 0; d < dirs; ++d)
        sgemm('N', 'T', T_ * B_, 4 * N, Din, seq_.data(), Din, op.layers[l][d].w_ih.data(), Din,
              1.0f, gates_.data() + d * 4 * N, G);

      out_.assign(static_cast<std::size_t>(T_) * B_ * N * dirs, 0.0f);
      for (int d = 0; d < dirs; ++d) {
        const auto& w = op.layers[l][d];
        h_.assign(static_cast<std::size_t>(B_) * N, 0.0f);
        c_.assign(static_cast<std::size_t>(B_) * N, 0.0f);
        for (int step = 0; step < T_; ++step) {
          // Backward: a line starts at its own last frame, with zero state.
          const int t = d == 0 ? step : T_ - 1 - step;
          const int active = active_at(t);
          float* g = gates_.data() + static_cast<std::size_t>(t) * B_ * G + d * 4 * N;
          sgemm('N', 'T', active, 4 * N, N, h_.data(), N, w.w_hh.data(), N, 1.0f, g, G);
          for (int b = 0; b < active; ++b) {
            const float* gb = g + static_cast<std::size_t>(b) * G;
            float* h = h_.data() + static_cast<std::size_t>(b) * N;
            float* c = c_.data() + static_cast<std::size_t>(b) * N;
            float* y = out_.data() + (static_cast<std::size_t>(t) * B_ + b) * N * dirs + d * N;
            for (int j = 0; j < N; ++j) {
              const float i_g = sigmoid(gb[j]), f_g = sigmoid(gb[N + j]);
              const float g_g = std::tanh(gb[2 * N + j]), o_g = sigmoid(gb[3 * N + j]);
              c[j] = f_g * c[j] + i_g * g_g;
              h[j] = o_g * std::tanh(c[j]);
              y[j] = h[j];
            }
          }
        }
      }
      seq_.swap(out_);
      D_ = N * dirs;
    }
  }

  void linear(const LinearOp& op) {
    out_.resize(static_cast<std::size_t>(T_) * B_ * op.out_features);
    for (std::size_t r = 0; r < static_cast<std::size_t>(T_) * B_; ++r)
      std::copy(op.bias.begin(), op.bias.end(),
                out_.begin() + static_cast<std::ptrdiff_t>(r * op.out_features));
    sgemm('N', 'T', T_ * B_, op.out_features, op.in_features, seq_.data(), op.in_features,
          op.weight.data(), op.in_features, 1.0f, out_.data(), op.out_features);
    if (op.relu)
      for (float& v : out_)
        v = std::max(v, 0.0f);
    seq_.swap(out_);
    D_ = op.out_features;
  }

  std::vector<LogProbs> split_log_softmax(const std::vector<int>& order) const {
    std::vector<LogProbs> result(order.size());
    for (int b = 0; b < B_; ++b) {
      LogProbs& lp = result[order[b]];
      lp.frames = frames_[b];
      lp.classes = D_;
      lp.values.resize(static_cast<std::size_t>(lp.frames) * D_);
      for (int t = 0; t < lp.frames; ++t) {
        const float* src = seq_.data() + (static_cast<std::size_t>(t) * B_ + b) * D_;
        float* dst = lp.values.data() + static_cast<std::size_t>(t) * D_;
        const float m = *std::max_element(src, src + D_);
        float sum = 0;
        for (int k = 0; k < D_; ++k)
          sum += std::exp(src[k] - m);
        const float lse = m + std::log(sum);
        for (int k = 0; k < D_; ++k)
          dst[k] = src[k] - lse;
      }
    }
    return result;
  }

  const CompiledNetwork& net_;
  int threads_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::map<std::size_t, ConvCache> conv_cache_;
  std::map<std::size_t, PoolCache> pool_cache_;
  Activations a_, b_;
  // Sequence state after the collapse: T_ frames x B_ lines x D_ features.
  int T_ = 0, B_ = 0, D_ = 0;
  std::vector<int> frames_;
  std::vector<float> seq_, gates_, out_, h_, c_;
};

}  // namespace

std::unique_ptr<Engine> make_onednn_engine(const CompiledNetwork& network, int threads) {
  try {
    return std::make_unique<OnednnEngine>(network, threads);
  } catch (const dnnl::error& e) {
    throw Error(std::string("oneDNN backend unavailable: ") + e.what());
  }
}

}  // namespace ocrcore::detail
