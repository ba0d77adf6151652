#pragma once

#include "layers/linear/linear_op.hpp"
#include "runtime/graph/reference_data.hpp"

namespace ocrcore::detail {

Sequence linear_reference(const Sequence& in, const LinearOp& op);

}  // namespace ocrcore::detail
