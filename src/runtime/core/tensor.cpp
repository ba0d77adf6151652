#include "ocrcore/tensor.hpp"

#include <functional>
#include <numeric>

namespace ocrcore {

Tensor::Tensor(std::vector<std::int64_t> dims, float fill) : shape(std::move(dims)) {
  data.assign(static_cast<std::size_t>(numel()), fill);
}

std::int64_t Tensor::numel() const {
  return std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
}

}  // namespace ocrcore
