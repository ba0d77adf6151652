#pragma once

#include "layers/tucker_conv/tucker_conv_op.hpp"
#include "runtime/graph/reference_data.hpp"

namespace ocrcore::detail {

// The Tucker-2 chain as its three convolutions (conv2d_reference), or with
// `bf16` each in bf16 arithmetic (conv2d_bf16_reference).
FeatureMap tucker_conv_reference(const FeatureMap& in, const TuckerOp& op, bool bf16 = false);

}  // namespace ocrcore::detail
