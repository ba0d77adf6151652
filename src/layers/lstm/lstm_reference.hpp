#pragma once

#include "layers/lstm/lstm_op.hpp"
#include "runtime/graph/reference_data.hpp"

namespace ocrcore::detail {

// Stacked (bi)directional LSTM, PyTorch semantics, gate order i, f, g, o;
// output per frame [forward h ; backward h].
Sequence lstm_reference(const Sequence& in, const LstmOp& op);

}  // namespace ocrcore::detail
