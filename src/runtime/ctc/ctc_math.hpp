#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

// Log-space arithmetic and alignment facts shared by the CTC decoders and
// the CTC loss.
namespace ocrcore::ctc {

inline constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// log(exp(a) + exp(b)) without overflow; -inf is the log of zero. Terms
// more than 40 apart add less than 4.3e-18 to the larger, which is then
// returned as it is: the decoders meet such pairs most of the time, and skip
// the exp and log1p.
inline double log_add(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  const double d = std::abs(a - b);
  return d > 40.0 ? std::max(a, b) : std::max(a, b) + std::log1p(std::exp(-d));
}

// Fewest frames that can carry `labels`: one per label plus a blank between
// equal neighbours.
inline int frames_needed(const std::vector<int>& labels) {
  int need = static_cast<int>(labels.size());
  for (std::size_t i = 1; i < labels.size(); ++i)
    if (labels[i] == labels[i - 1]) ++need;
  return need;
}

}  // namespace ocrcore::ctc
