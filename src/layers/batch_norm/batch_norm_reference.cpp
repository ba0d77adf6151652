// The per-channel map a batch norm lowers to, in case it is not folded (the
// graph pass folds every one: validate() puts each after a convolution).

#include "runtime/graph/compiled_network.hpp"

namespace ocrcore::detail {

void ScaleShiftOp::reference(ReferenceValue& v, const ReferenceArithmetic&) const {
  FeatureMap& m = v.map;
  for (int c = 0; c < m.channels; ++c)
    for (int y = 0; y < m.height; ++y)
      for (int x = 0; x < m.width; ++x)
        m.at(c, y, x) = static_cast<float>((m.at(c, y, x) - center[c]) * scale[c] + shift[c]);
}

}  // namespace ocrcore::detail
