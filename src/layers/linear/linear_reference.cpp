#include "layers/linear/linear_reference.hpp"

#include <algorithm>

namespace ocrcore::detail {

Sequence linear_reference(const Sequence& in, const LinearOp& op) {
  Sequence out(in.frames, op.out_features);
  for (int t = 0; t < in.frames; ++t) {
    for (int o = 0; o < op.out_features; ++o) {
      double acc = op.bias[o];
      for (int k = 0; k < op.in_features; ++k)
        acc += double(op.weight[static_cast<std::size_t>(o) * op.in_features + k]) * in.row(t)[k];
      float v = static_cast<float>(acc);
      out.row(t)[o] = op.relu ? std::max(v, 0.0f) : v;
    }
  }
  return out;
}

void LinearOp::reference(ReferenceValue& v, const ReferenceArithmetic&) const {
  v.sequence = linear_reference(v.sequence, *this);
}

}  // namespace ocrcore::detail
