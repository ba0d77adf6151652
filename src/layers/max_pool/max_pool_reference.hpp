#pragma once

#include "layers/max_pool/max_pool_op.hpp"
#include "runtime/graph/reference_data.hpp"

namespace ocrcore::detail {

// Max over each window; padding and the ceil-mode overhang never win.
FeatureMap maxpool_reference(const FeatureMap& in, const PoolOp& op);

}  // namespace ocrcore::detail
