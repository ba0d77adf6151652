#include "layers/relu/relu_reference.hpp"

#include <algorithm>

#include "runtime/graph/compiled_network.hpp"

namespace ocrcore::detail {

void relu_reference(std::vector<float>& values) {
  for (float& v : values)
    v = std::max(v, 0.0f);
}

void ReluOp::reference(ReferenceValue& v, const ReferenceArithmetic&) const {
  relu_reference(v.is_sequence ? v.sequence.values : v.map.values);
}

}  // namespace ocrcore::detail
