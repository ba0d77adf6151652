#pragma once

// The oneDNN engine's executor of each layer kind (src/layers/<kind>/
// <kind>_onednn.cpp): what the engine's plan is built from, one op at a time.

#include <memory>
#include <string>

#include "backend/onednn/onednn_batch.hpp"
#include "layers/conv2d/conv2d_onednn.hpp"
#include "layers/max_pool/max_pool_onednn.hpp"

namespace ocrcore::detail::onednn {

// Op `op` of the prepared network, a Tucker chain: composed into one
// convolution or as its factors, as PreparedNetwork decided.
std::unique_ptr<OpExecutor> make_tucker_conv_executor(const PreparedNetwork& prepared,
                                                      std::size_t op);
// "tucker 64->128 ranks 20,30", or "tucker composed 64->128".
std::string tucker_conv_name(const PreparedNetwork& prepared, std::size_t op);
std::unique_ptr<OpExecutor> make_relu_executor();
std::unique_ptr<OpExecutor> make_collapse_executor();
std::unique_ptr<OpExecutor> make_lstm_executor(const PreparedNetwork& prepared, std::size_t op);
std::unique_ptr<OpExecutor> make_linear_executor(const PreparedNetwork& prepared, std::size_t op);

}  // namespace ocrcore::detail::onednn
