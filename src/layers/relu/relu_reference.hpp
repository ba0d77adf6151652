#pragma once

#include "runtime/graph/reference_data.hpp"

namespace ocrcore::detail {

void relu_reference(std::vector<float>& values);

}  // namespace ocrcore::detail
