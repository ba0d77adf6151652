#include "training/train/ctc_loss.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ocrcore/error.hpp"
#include "runtime/ctc/ctc_math.hpp"

namespace ocrcore::train {

using ctc::frames_needed;
using ctc::kNegInf;
using ctc::log_add;

CtcLossResult ctc_loss(const Activations& log_probs, const std::vector<std::vector<int>>& targets,
                       Activations* grad, float weight) {
  if (log_probs.kind != Activations::Kind::sequences)
    throw Error("ctc_loss: expected frame sequences");
  const int N = log_probs.batch, K = log_probs.features;
  if (static_cast<int>(targets.size()) != N)
    throw Error("ctc_loss: " + std::to_string(targets.size()) + " targets for " +
                std::to_string(N) + " lines");
  for (const auto& t : targets)
    for (int c : t)
      if (c <= 0 || c >= K)
        throw Error("ctc_loss: label " + std::to_string(c) + " outside 1.." +
                    std::to_string(K - 1));
  CtcLossResult result;
  result.loss.assign(N, std::numeric_limits<double>::infinity());
  if (grad) grad->zeros_like(log_probs);
  std::vector<char> aligned(N, 0);

#pragma omp parallel for schedule(dynamic)
  for (int n = 0; n < N; ++n) {
    const std::vector<int>& label = targets[n];
    const int T = std::min(log_probs.lengths[n], log_probs.frames);
    if (T <= 0 || frames_needed(label) > T) continue;
    const int L = static_cast<int>(label.size()), S = 2 * L + 1;
    auto sym = [&](int s) { return s % 2 == 0 ? 0 : label[s / 2]; };
    auto lp = [&](int t, int k) { return static_cast<double>(log_probs.frame(t, n)[k]); };
    // A state can skip the blank before it unless it repeats the label two back.
    auto can_skip = [&](int s) { return s >= 2 && sym(s) != 0 && sym(s) != sym(s - 2); };
    std::vector<double> alpha(static_cast<std::size_t>(T) * S, kNegInf);
    std::vector<double> beta(static_cast<std::size_t>(T) * S, kNegInf);
    auto A = [&](int t, int s) -> double& { return alpha[static_cast<std::size_t>(t) * S + s]; };
    auto B = [&](int t, int s) -> double& { return beta[static_cast<std::size_t>(t) * S + s]; };
    A(0, 0) = lp(0, 0);
    if (S > 1) A(0, 1) = lp(0, sym(1));
    for (int t = 1; t < T; ++t)
      for (int s = 0; s < S; ++s) {
        double a = A(t - 1, s);
        if (s >= 1) a = log_add(a, A(t - 1, s - 1));
        if (can_skip(s)) a = log_add(a, A(t - 1, s - 2));
        if (a != kNegInf) A(t, s) = a + lp(t, sym(s));
      }
    B(T - 1, S - 1) = lp(T - 1, 0);
    if (S > 1) B(T - 1, S - 2) = lp(T - 1, sym(S - 2));
    for (int t = T - 2; t >= 0; --t)
      for (int s = 0; s < S; ++s) {
        double b = B(t + 1, s);
        if (s + 1 < S) b = log_add(b, B(t + 1, s + 1));
        if (s + 2 < S && can_skip(s + 2)) b = log_add(b, B(t + 1, s + 2));
        if (b != kNegInf) B(t, s) = b + lp(t, sym(s));
      }
    const double log_p = S > 1 ? log_add(A(T - 1, S - 1), A(T - 1, S - 2)) : A(T - 1, 0);
    if (!std::isfinite(log_p)) continue;  // impossible under the model: no usable gradient
    result.loss[n] = -log_p;
    aligned[n] = 1;
    if (!grad) continue;
    std::vector<double> occ(K);
    for (int t = 0; t < T; ++t) {
      std::fill(occ.begin(), occ.end(), kNegInf);
      for (int s = 0; s < S; ++s)
        if (A(t, s) != kNegInf && B(t, s) != kNegInf)
          occ[sym(s)] = log_add(occ[sym(s)], A(t, s) + B(t, s));
      float* g = grad->frame(t, n);
      // alpha and beta both include frame t's probability: divide one out.
      for (int k = 0; k < K; ++k)
        if (occ[k] != kNegInf)
          g[k] = static_cast<float>(-weight * std::exp(occ[k] - log_p - lp(t, k)));
    }
  }
  for (int n = 0; n < N; ++n)
    if (!aligned[n]) result.unaligned.push_back(n);
  return result;
}

}  // namespace ocrcore::train
