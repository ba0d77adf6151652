#include "layers/collapse/collapse_reference.hpp"

#include "layers/collapse/collapse_op.hpp"

namespace ocrcore::detail {

Sequence collapse_reference(const FeatureMap& in) {
  Sequence out(in.width, in.channels * in.height);
  for (int t = 0; t < in.width; ++t)
    for (int c = 0; c < in.channels; ++c)
      for (int y = 0; y < in.height; ++y)
        out.row(t)[c * in.height + y] = in.at(c, y, t);
  return out;
}

void CollapseOp::reference(ReferenceValue& v, const ReferenceArithmetic&) const {
  v.sequence = collapse_reference(v.map);
  v.map = {};
  v.is_sequence = true;
}

}  // namespace ocrcore::detail
