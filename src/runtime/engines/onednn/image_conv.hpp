#pragma once

#include <memory>

#include "runtime/engines/onednn/onednn_batch.hpp"
#include "runtime/engines/onednn/prepared_network.hpp"

namespace ocrcore::detail::onednn {

// Whether op 0 runs on ocrcore's own image kernel, and the pool after it
// with it: decided once, when the network is prepared, with the kernel's
// weights.
PreparedNetwork::ImageConvPlan plan_image_conv(const PreparedNetwork& prepared);

// The executor of that fusion (prepared.image_conv().active): op 0, and op 1
// too when the pool folds in (ops_run() 2). The engine's plan puts it in
// place of their own executors.
std::unique_ptr<OpExecutor> make_image_conv_executor(const PreparedNetwork& prepared);

}  // namespace ocrcore::detail::onednn
