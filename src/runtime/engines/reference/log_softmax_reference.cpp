#include "runtime/engines/reference/log_softmax_reference.hpp"

#include <algorithm>
#include <cmath>

namespace ocrcore::detail {

void log_softmax_reference(Sequence& s) {
  for (int t = 0; t < s.frames; ++t) {
    float* r = s.row(t);
    double m = *std::max_element(r, r + s.features), sum = 0;
    for (int k = 0; k < s.features; ++k)
      sum += std::exp(double(r[k]) - m);
    // (x - m) - log(sum): m + log(sum) would round log(sum) away for huge logits.
    const double log_sum = std::log(sum);
    for (int k = 0; k < s.features; ++k)
      r[k] = static_cast<float>((r[k] - m) - log_sum);
  }
}

}  // namespace ocrcore::detail
