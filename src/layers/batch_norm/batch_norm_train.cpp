// Batch norm for training (NHWC: a pixel's channels are contiguous, so the
// per-channel arithmetic vectorises along the innermost loop), optionally
// with the ReLU after it fused in.

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "layers/batch_norm/batch_norm.hpp"
#include "layers/relu/relu.hpp"
#include "ocrcore/error.hpp"
#include "training/distributed/collective.hpp"
#include "training/train/layer_factory.hpp"
#include "training/train/parallel.hpp"

namespace ocrcore::train {

namespace {

// y = x * scale[c] + shift[c] over pixels of C channels. Kernels index rows
// through pointers so GCC sees unit-stride inner loops and vectorises them.
void affine_kernel(const float* __restrict x, float* __restrict y, const float* __restrict scale,
                   const float* __restrict shift, std::size_t pixels, int C) {
  for (std::size_t p = 0; p < pixels; ++p) {
    const float* __restrict xr = x + p * C;
    float* __restrict yr = y + p * C;
    for (int c = 0; c < C; ++c)
      yr[c] = xr[c] * scale[c] + shift[c];
  }
}

// y = max(x * scale[c] + shift[c], 0): batch norm with the ReLU after it.
void affine_relu_kernel(const float* __restrict x, float* __restrict y,
                        const float* __restrict scale, const float* __restrict shift,
                        std::size_t pixels, int C) {
  for (std::size_t p = 0; p < pixels; ++p) {
    const float* __restrict xr = x + p * C;
    float* __restrict yr = y + p * C;
    for (int c = 0; c < C; ++c)
      yr[c] = std::max(xr[c] * scale[c] + shift[c], 0.0f);
  }
}

// The gradient reaching batch norm's output: dy, or with a fused ReLU dy
// where the output was positive (recomputed from x: no stored mask).
template <bool relu>
inline float bn_output_grad(float x, float dy, float scale, float shift) {
  if constexpr (relu) return x * scale + shift > 0.0f ? dy : 0.0f;
  return dy;
}

// Per-channel sums of g and g * (x - mean) over `pixels` pixels.
template <bool relu>
void batch_norm_sums_kernel(const float* __restrict x, const float* __restrict dy,
                            const float* __restrict scale, const float* __restrict shift,
                            const float* __restrict mean, std::size_t pixels, int C,
                            float* __restrict sum_g, float* __restrict sum_gx) {
  for (std::size_t p = 0; p < pixels; ++p) {
    const float* __restrict xr = x + p * C;
    const float* __restrict dyr = dy + p * C;
    for (int c = 0; c < C; ++c) {
      const float g = bn_output_grad<relu>(xr[c], dyr[c], scale[c], shift[c]);
      sum_g[c] += g;
      sum_gx[c] += g * (xr[c] - mean[c]);
    }
  }
}

// dx = a[c] * (g - b[c] - (x - mean[c]) * k[c]) with k = inv_std * mean(g * xhat).
template <bool relu>
void batch_norm_backward_kernel(const float* __restrict x, const float* __restrict dy,
                                float* __restrict dx, const float* __restrict a,
                                const float* __restrict b, const float* __restrict mean,
                                const float* __restrict k, const float* __restrict scale,
                                const float* __restrict shift, std::size_t pixels, int C) {
  for (std::size_t p = 0; p < pixels; ++p) {
    const float* __restrict xr = x + p * C;
    const float* __restrict dyr = dy + p * C;
    float* __restrict dxr = dx + p * C;
    for (int c = 0; c < C; ++c) {
      const float g = bn_output_grad<relu>(xr[c], dyr[c], scale[c], shift[c]);
      dxr[c] = a[c] * (g - b[c] - (xr[c] - mean[c]) * k[c]);
    }
  }
}

// Statistics over the valid pixels only (padding would make a line's
// normalisation depend on its neighbours' widths); running averages as
// PyTorch keeps them (momentum 0.1, unbiased variance).
class BatchNormLayer final : public Layer {
 public:
  explicit BatchNormLayer(const BatchNormSpec& s)
      : eps_(s.eps),
        weight_(s.name + ".weight", {s.num_features}),
        bias_(s.name + ".bias", {s.num_features}),
        running_mean_(s.name + ".running_mean", {s.num_features}, false),
        running_var_(s.name + ".running_var", {s.num_features}, false) {
    std::fill(weight_.value.begin(), weight_.value.end(), 1.0f);
    std::fill(running_var_.value.begin(), running_var_.value.end(), 1.0f);
  }

  // Identity at the start: weight and running variance 1, the rest 0.
  void initialize(std::mt19937_64& /*rng*/) override {
    std::fill(weight_.value.begin(), weight_.value.end(), 1.0f);
    std::fill(bias_.value.begin(), bias_.value.end(), 0.0f);
    std::fill(running_mean_.value.begin(), running_mean_.value.end(), 0.0f);
    std::fill(running_var_.value.begin(), running_var_.value.end(), 1.0f);
  }

  std::vector<Parameter*> parameters() override {
    return {&weight_, &bias_, &running_mean_, &running_var_};
  }

  void forward(Activations& in, Activations& out, Mode mode) override {
    const int C = in.channels;
    out.resize_maps(in.batch, C, in.height, in.width);
    out.lengths = in.lengths;
    batch_stats_ = mode == Mode::training;
    mean_.assign(C, 0.0);
    inv_std_.assign(C, 0.0);
    if (mode == Mode::training) {
      // [sum of x - running mean (C), sum of its squares (C), count]: shifted
      // by the running mean (the same on every rank) for a better-conditioned
      // variance; summed over the job's ranks when it has several.
      std::vector<double> sums(2 * static_cast<std::size_t>(C) + 1, 0.0);
      double* sum = sums.data();
      double* sum_sq = sums.data() + C;
      for_valid_pixels(in, [&](const float* x) {
        for (int c = 0; c < C; ++c) {
          const double d = x[c] - running_mean_.value[c];
          sum[c] += d;
          sum_sq[c] += d * d;
        }
      });
      sums.back() = valid_count(in);
      if (team_) team_->sum(sums);
      const double count = sums.back();
      if (count < 1) throw Error("batch norm " + weight_.name + ": batch has no valid pixels");
      for (int c = 0; c < C; ++c) {
        const double shifted_mean = sum[c] / count;
        const double var = std::max(0.0, sum_sq[c] / count - shifted_mean * shifted_mean);
        mean_[c] = shifted_mean + running_mean_.value[c];
        inv_std_[c] = 1.0 / std::sqrt(var + eps_);
        const double unbiased = count > 1 ? var * count / (count - 1) : var;
        running_mean_.value[c] =
            static_cast<float>((1 - kMomentum) * running_mean_.value[c] + kMomentum * mean_[c]);
        running_var_.value[c] =
            static_cast<float>((1 - kMomentum) * running_var_.value[c] + kMomentum * unbiased);
      }
    } else {
      for (int c = 0; c < C; ++c) {
        mean_[c] = running_mean_.value[c];
        inv_std_[c] = 1.0 / std::sqrt(static_cast<double>(running_var_.value[c]) + eps_);
      }
    }
    scale_.resize(C);
    shift_.resize(C);
    for (int c = 0; c < C; ++c) {
      scale_[c] = static_cast<float>(weight_.value[c] * inv_std_[c]);
      shift_[c] = static_cast<float>(bias_.value[c] - mean_[c] * weight_.value[c] * inv_std_[c]);
    }
    const std::size_t pixels = in.values.size() / C;
    parallel_chunks(pixels, [&](std::size_t b, std::size_t e) {
      if (fused_relu_)
        affine_relu_kernel(in.values.data() + b * C, out.values.data() + b * C, scale_.data(),
                           shift_.data(), e - b, C);
      else
        affine_kernel(in.values.data() + b * C, out.values.data() + b * C, scale_.data(),
                      shift_.data(), e - b, C);
    });
  }

  void set_collective(Collective* team) override { team_ = team; }

  // Applies the ReLU that follows in the same pass (the network then skips
  // the ReLU layer): one memory pass less each way.
  void fuse_relu() { fused_relu_ = true; }

  void backward(const Activations& in, const Activations& /*out*/, Activations& diff_out,
                Activations* diff_in) override {
    const int C = in.channels;
    std::vector<float> mean(C);
    for (int c = 0; c < C; ++c)
      mean[c] = static_cast<float>(mean_[c]);
    // Sums over valid pixels: float within a row, double across rows.
    const int rows = in.batch * in.height;
    const std::size_t row = static_cast<std::size_t>(in.width) * C;
    std::vector<double> sum_dy(C, 0.0), sum_dy_xhat(C, 0.0);
#pragma omp parallel
    {
      std::vector<double> t_dy(C, 0.0), t_dyx(C, 0.0);
      std::vector<float> r_dy(C), r_dyx(C);
#pragma omp for schedule(static)
      for (int r = 0; r < rows; ++r) {
        const int n = r / in.height;
        const std::size_t base = static_cast<std::size_t>(r) * row;
        std::fill(r_dy.begin(), r_dy.end(), 0.0f);
        std::fill(r_dyx.begin(), r_dyx.end(), 0.0f);
        const auto valid = static_cast<std::size_t>(std::min(in.lengths[n], in.width));
        (fused_relu_ ? batch_norm_sums_kernel<true>
                     : batch_norm_sums_kernel<false>)(in.values.data() + base,
                                                      diff_out.values.data() + base, scale_.data(),
                                                      shift_.data(), mean.data(), valid, C,
                                                      r_dy.data(), r_dyx.data());
        for (int c = 0; c < C; ++c) {
          t_dy[c] += r_dy[c];
          t_dyx[c] += static_cast<double>(r_dyx[c]) * inv_std_[c];
        }
      }
#pragma omp critical
      for (int c = 0; c < C; ++c) {
        sum_dy[c] += t_dy[c];
        sum_dy_xhat[c] += t_dyx[c];
      }
    }
    if (!weight_.frozen)
      for (int c = 0; c < C; ++c)
        weight_.grad[c] += static_cast<float>(sum_dy_xhat[c]);
    if (!bias_.frozen)
      for (int c = 0; c < C; ++c)
        bias_.grad[c] += static_cast<float>(sum_dy[c]);
    if (!diff_in) return;
    diff_in->resize_maps(in.batch, C, in.height, in.width);
    diff_in->lengths = in.lengths;
    // The input gradient's batch terms are over the global batch; the
    // parameter gradients above stay this rank's (the trainer sums those).
    double count = valid_count(in);
    if (team_ && batch_stats_) {
      std::vector<double> sums(2 * static_cast<std::size_t>(C) + 1);
      std::copy(sum_dy.begin(), sum_dy.end(), sums.begin());
      std::copy(sum_dy_xhat.begin(), sum_dy_xhat.end(), sums.begin() + C);
      sums.back() = count;
      team_->sum(sums);
      std::copy_n(sums.begin(), C, sum_dy.begin());
      std::copy_n(sums.begin() + C, C, sum_dy_xhat.begin());
      count = sums.back();
    }
    // dx = gamma * inv_std * (dy - mean(dy) - xhat * mean(dy * xhat)) (training),
    // or gamma * inv_std * dy with running statistics.
    // With running statistics (evaluation) the batch terms vanish.
    std::vector<float> a(C), b(C, 0.0f), k(C, 0.0f);
    for (int c = 0; c < C; ++c) {
      a[c] = static_cast<float>(weight_.value[c] * inv_std_[c]);
      if (batch_stats_) {
        b[c] = static_cast<float>(sum_dy[c] / count);
        k[c] = static_cast<float>(inv_std_[c] * sum_dy_xhat[c] / count);
      }
    }
    const std::size_t pixels = in.values.size() / C;
    parallel_chunks(pixels, [&](std::size_t p0, std::size_t p1) {
      (fused_relu_ ? batch_norm_backward_kernel<true>
                   : batch_norm_backward_kernel<false>)(in.values.data() + p0 * C,
                                                        diff_out.values.data() + p0 * C,
                                                        diff_in->values.data() + p0 * C, a.data(),
                                                        b.data(), mean.data(), k.data(),
                                                        scale_.data(), shift_.data(), p1 - p0, C);
    });
    diff_in->fill_padding(0.0f);
  }

 private:
  static constexpr double kMomentum = 0.1;

  static double valid_count(const Activations& in) {
    double count = 0;
    for (int n = 0; n < in.batch; ++n)
      count += static_cast<double>(std::min(in.lengths[n], in.width)) * in.height;
    return count;
  }
  template <typename F>
  static void for_valid_pixels(const Activations& in, F&& f) {
    for (int n = 0; n < in.batch; ++n)
      for (int y = 0; y < in.height; ++y) {
        const float* row = in.values.data() +
                           (static_cast<std::size_t>(n) * in.height + y) * in.width * in.channels;
        for (int x = 0; x < std::min(in.lengths[n], in.width); ++x)
          f(row + static_cast<std::size_t>(x) * in.channels);
      }
  }

  double eps_;
  Parameter weight_, bias_, running_mean_, running_var_;
  std::vector<double> mean_, inv_std_;  // what the last forward used
  std::vector<float> scale_, shift_;    // its per-channel affine map
  bool batch_stats_ = true;
  bool fused_relu_ = false;
  Collective* team_ = nullptr;  // ranks sharing the batch statistics
};

}  // namespace

namespace {

std::unique_ptr<Layer> make_batch_norm_layer(const BatchNormSpec& s) {
  return std::make_unique<BatchNormLayer>(s);
}

std::unique_ptr<Layer> make_batch_norm_relu_layer(const LayerSpec& bn, const LayerSpec& /*relu*/) {
  auto layer = std::make_unique<BatchNormLayer>(bn.get<BatchNormSpec>());
  layer->fuse_relu();
  return layer;
}

}  // namespace

void register_batch_norm_train(TrainLayerRegistry& registry) {
  registry.add<BatchNormSpec, make_batch_norm_layer>();
  registry.add_fusion(detail::LayerKind<BatchNormSpec>::type_name,
                      detail::LayerKind<ReluSpec>::type_name, make_batch_norm_relu_layer);
}

}  // namespace ocrcore::train
