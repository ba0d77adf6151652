#pragma once

// The reference engine's own last step. Each kind's plain-loop reference is
// in its folder (src/layers/<kind>/<kind>_reference.hpp) and reached through
// Op::reference.
#include "runtime/graph/reference_data.hpp"

namespace ocrcore::detail {

// The network's last step: log-softmax over each frame's class scores.
void log_softmax_reference(Sequence& s);

}  // namespace ocrcore::detail
