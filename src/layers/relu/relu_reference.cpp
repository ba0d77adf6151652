#include "layers/relu/relu_reference.hpp"

#include <algorithm>

namespace ocrcore::detail {

void relu_reference(std::vector<float>& values) {
  for (float& v : values)
    v = std::max(v, 0.0f);
}

}  // namespace ocrcore::detail
