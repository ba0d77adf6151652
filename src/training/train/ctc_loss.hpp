#pragma once

#include <vector>

#include "training/train/activations.hpp"

namespace ocrcore::train {

struct CtcLossResult {
  // -log P(target | line) per line; +inf for lines that cannot be aligned.
  std::vector<double> loss;
  // Lines whose target needs more frames than the line has (each label plus
  // a blank between repeated labels); they get no gradient.
  std::vector<int> unaligned;
};

// CTC loss by log-space forward-backward, blank = class 0. `log_probs` are
// per-frame log-probabilities (sequences, T x N x K, per-line frame counts).
// When `grad` is given it receives d(sum_n weight * loss_n)/d log_probs, i.e.
// -weight * (posterior occupancy of each class per frame), zero in padding
// and for unaligned lines.
CtcLossResult ctc_loss(const Activations& log_probs, const std::vector<std::vector<int>>& targets,
                       Activations* grad = nullptr, float weight = 1.0f);

}  // namespace ocrcore::train
