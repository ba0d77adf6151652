#pragma once

// The plain-loop reference of every layer kind (src/layers/<kind>/), one line
// at a time: the oracle that every optimised path is tested against.
#include "layers/collapse/collapse_reference.hpp"
#include "layers/conv2d/conv2d_reference.hpp"
#include "layers/linear/linear_reference.hpp"
#include "layers/lstm/lstm_reference.hpp"
#include "layers/max_pool/max_pool_reference.hpp"
#include "layers/relu/relu_reference.hpp"
#include "layers/tucker_conv/tucker_conv_reference.hpp"
#include "nn/reference_data.hpp"

namespace ocrcore::detail {

// The network's last step: log-softmax over each frame's class scores.
void log_softmax_reference(Sequence& s);

}  // namespace ocrcore::detail
