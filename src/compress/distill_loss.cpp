#include "compress/distill_loss.hpp"

#include <algorithm>
#include <cmath>

#include "ocrcore/error.hpp"
#include "training/train/gemm.hpp"

namespace ocrcore::compress {

TsLoss parse_ts_loss(const std::string& name) {
  if (name == "lstm-guided") return TsLoss::lstm_guided;
  if (name == "l2") return TsLoss::l2;
  if (name == "kl") return TsLoss::kl;
  if (name == "ctc") return TsLoss::ctc;
  throw Error("--ts-loss '" + name + "' (lstm-guided, l2, kl, ctc)");
}

std::string ts_loss_name(TsLoss loss) {
  switch (loss) {
    case TsLoss::lstm_guided:
      return "lstm-guided";
    case TsLoss::l2:
      return "l2";
    case TsLoss::kl:
      return "kl";
    case TsLoss::ctc:
      return "ctc";
  }
  return "?";
}

std::vector<float> gram_matrix(const std::vector<float>& w, int rows, int d) {
  std::vector<float> m(static_cast<std::size_t>(d) * d);
  train::gemm(true, false, d, d, rows, 1.0f, w.data(), d, w.data(), d, 0.0f, m.data(), d);
  return m;
}

std::vector<float> identity_matrix(int d) {
  std::vector<float> m(static_cast<std::size_t>(d) * d, 0.0f);
  for (int i = 0; i < d; ++i)
    m[static_cast<std::size_t>(i) * d + i] = 1.0f;
  return m;
}

namespace {

void check_pair(const train::Activations& a, const train::Activations& b, const char* what) {
  if (a.kind != train::Activations::Kind::sequences || b.kind != a.kind || a.frames != b.frames ||
      a.batch != b.batch || a.features != b.features)
    throw Error(std::string(what) + ": student and teacher outputs differ in shape (" +
                std::to_string(a.frames) + "x" + std::to_string(a.batch) + "x" +
                std::to_string(a.features) + " vs " + std::to_string(b.frames) + "x" +
                std::to_string(b.batch) + "x" + std::to_string(b.features) + ")");
  if (a.lengths != b.lengths)
    throw Error(std::string(what) + ": student and teacher frame counts differ");
}

}  // namespace

namespace {
int lines_in(const train::Activations& a) {
  int lines = 0;
  for (int n = 0; n < a.batch; ++n)
    lines += a.lengths[n] > 0;
  return lines;
}
}  // namespace

double feature_matching_loss(const train::Activations& s, const train::Activations& t,
                             const std::vector<float>& metric, train::Activations* grad,
                             int lines) {
  check_pair(s, t, "feature matching");
  const int D = s.features, N = s.batch, T = s.frames;
  if (metric.size() != static_cast<std::size_t>(D) * D)
    throw Error("feature matching: metric is not D x D");
  const std::size_t rows = static_cast<std::size_t>(T) * N;
  std::vector<float> diff(rows * D, 0.0f), md(rows * D);
  for (int tt = 0; tt < T; ++tt)
    for (int n = 0; n < N; ++n) {
      if (tt >= s.lengths[n]) continue;  // padding stays zero
      const float* a = t.frame(tt, n);
      const float* b = s.frame(tt, n);
      float* d = diff.data() + (static_cast<std::size_t>(tt) * N + n) * D;
      for (int k = 0; k < D; ++k)
        d[k] = a[k] - b[k];
    }
  // M symmetric: (diff M) row by row.
  train::gemm(false, false, static_cast<int>(rows), D, D, 1.0f, diff.data(), D, metric.data(), D,
              0.0f, md.data(), D);
  if (lines <= 0) lines = lines_in(s);
  if (grad) grad->zeros_like(s);
  double total = 0;
  for (int n = 0; n < N; ++n) {
    const int Tn = std::min(s.lengths[n], T);
    if (Tn <= 0) continue;
    double line = 0;
    const double scale = 1.0 / (static_cast<double>(Tn) * lines);
    for (int tt = 0; tt < Tn; ++tt) {
      const std::size_t r = (static_cast<std::size_t>(tt) * N + n) * D;
      for (int k = 0; k < D; ++k)
        line += static_cast<double>(diff[r + k]) * md[r + k];
      if (grad) {
        float* g = grad->frame(tt, n);
        for (int k = 0; k < D; ++k)
          g[k] = static_cast<float>(-2.0 * scale * md[r + k]);
      }
    }
    total += line * scale;
  }
  return total;
}

train::Activations pool_frames(const train::Activations& t, int ratio,
                               const std::vector<int>& lengths, int frames) {
  if (ratio < 1) throw Error("pool_frames: ratio must be at least 1");
  if (static_cast<int>(lengths.size()) != t.batch)
    throw Error("pool_frames: " + std::to_string(lengths.size()) + " lengths for a batch of " +
                std::to_string(t.batch));
  train::Activations out;
  out.resize_sequences(frames, t.batch, t.features);
  std::fill(out.values.begin(), out.values.end(), 0.0f);
  for (int n = 0; n < t.batch; ++n) {
    const int have = std::min(t.lengths[n], t.frames);
    if (lengths[n] > frames || (lengths[n] > 0 && (lengths[n] - 1) * ratio >= have))
      throw Error("teacher targets: a line of " + std::to_string(have) +
                  " teacher frames cannot cover " + std::to_string(lengths[n]) +
                  " student frames at " + std::to_string(ratio) + " teacher frames each");
    out.lengths[n] = lengths[n];
    for (int f = 0; f < lengths[n]; ++f) {
      const int begin = f * ratio, end = std::min(have, begin + ratio);
      float* o = out.frame(f, n);
      for (int k = begin; k < end; ++k) {
        const float* in = t.frame(k, n);
        for (int d = 0; d < t.features; ++d)
          o[d] += in[d];
      }
      const float inv = 1.0f / static_cast<float>(end - begin);
      for (int d = 0; d < t.features; ++d)
        o[d] *= inv;
    }
  }
  return out;
}

double kl_loss(const train::Activations& s, const train::Activations& t, float tau,
               train::Activations* grad, int lines) {
  check_pair(s, t, "KL");
  if (tau <= 0) throw Error("the KL temperature must be positive");
  const int K = s.features, N = s.batch, T = s.frames;
  if (lines <= 0) lines = lines_in(s);
  if (grad) grad->zeros_like(s);
  double total = 0;
  std::vector<double> ps(K), pt(K);
  for (int n = 0; n < N; ++n) {
    const int Tn = std::min(s.lengths[n], T);
    if (Tn <= 0) continue;
    const double scale = 1.0 / (static_cast<double>(Tn) * lines);
    for (int tt = 0; tt < Tn; ++tt) {
      auto softmax = [&](const float* z, std::vector<double>& p) {
        double mx = z[0];
        for (int k = 1; k < K; ++k)
          mx = std::max(mx, static_cast<double>(z[k]));
        double sum = 0;
        for (int k = 0; k < K; ++k)
          sum += p[k] = std::exp((z[k] - mx) / tau);
        for (int k = 0; k < K; ++k)
          p[k] /= sum;
      };
      softmax(s.frame(tt, n), ps);
      softmax(t.frame(tt, n), pt);
      double kl = 0;
      for (int k = 0; k < K; ++k)
        if (pt[k] > 0) kl += pt[k] * (std::log(pt[k]) - std::log(std::max(ps[k], 1e-300)));
      total += scale * tau * tau * kl;
      if (grad) {
        float* g = grad->frame(tt, n);
        for (int k = 0; k < K; ++k)
          g[k] = static_cast<float>(scale * tau * (ps[k] - pt[k]));
      }
    }
  }
  return total;
}

}  // namespace ocrcore::compress
