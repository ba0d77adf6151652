#pragma once

#include "runtime/graph/reference_data.hpp"

namespace ocrcore::detail {

// Frame t = column t, feature index c * height + y.
Sequence collapse_reference(const FeatureMap& in);

}  // namespace ocrcore::detail
