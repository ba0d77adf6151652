#include "runtime/engines/onednn/tuning.hpp"

#include <algorithm>

#include "layers/max_pool/max_pool_op.hpp"
#include "layers/tucker_conv/tucker_conv_op.hpp"

namespace ocrcore::detail::tuning {

bool compose_tucker(const TuckerOp& op, bool first_layer, TuckerExecution mode) {
  if (mode != TuckerExecution::automatic) return mode == TuckerExecution::composed;
  if (first_layer && !op.has_in && op.core.in_channels == 1) return true;
  const int in_channels = op.has_in ? op.in.in_channels : op.core.in_channels;
  return std::max(in_channels, op.out.out_channels) <= kComposeChannels ||
         tucker_composed_macs(op) <= kComposeRatio * tucker_chain_macs(op);
}

bool winograd(const ConvOp& op, int out_height, ConvAlgorithm algorithm) {
  if (op.kernel_h != 3 || op.kernel_w != 3 || op.stride_h != 1 || op.stride_w != 1 ||
      op.pad_h != 1 || op.pad_w != 1 || op.groups != 1)
    return false;
  if (algorithm != ConvAlgorithm::automatic) return algorithm == ConvAlgorithm::winograd;
  // Measured with bench_layers (direct and Winograd side by side, b1 t1 and
  // b8 t2) on the teacher and compact models: Winograd ran 1.2-1.8x faster
  // from 64 channels in and out at output heights of 4 and more, but slower
  // at height 2 (half of each 4x4 output tile is wasted) and up to 3x slower
  // with 8 or 16 input channels (the transforms dominate). At 32 channels the
  // layer itself ran 10-20% faster, but the reorder into Winograd's input
  // layout cost more than that end to end.
  return out_height >= 4 && op.in_channels >= 64 && op.out_channels >= 64;
}

bool skip_conv_implementation(std::string_view impl, bool int8) {
  return int8 && impl.starts_with("brg");
}

bool image_conv(const ConvOp& op) {
  return op.in_channels == 1 && op.kernel_h == 3 && op.kernel_w == 3 && op.stride_h == 1 &&
         op.stride_w == 1 && op.pad_h == 1 && op.pad_w == 1 && op.out_channels % 8 == 0;
}

bool image_conv_pool(const PoolOp& op) {
  return op.kernel_h == 2 && op.kernel_w == 2 && op.stride_h == 2 && op.stride_w == 2 &&
         op.pad_h == 0 && op.pad_w == 0 && !op.ceil_mode;
}

}  // namespace ocrcore::detail::tuning
