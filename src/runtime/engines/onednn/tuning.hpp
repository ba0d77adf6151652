#pragma once

// The oneDNN engine's tuning rules: pure functions of a layer's shape and the
// options, decided once when a model is prepared (or a primitive built) and
// tested on their own (tests/test_backends.cpp).

#include <string_view>

#include "ocrcore/types.hpp"

namespace ocrcore::detail {
// The ops the rules are about (src/layers/<kind>/<kind>_op.hpp).
struct ConvOp;
struct TuckerOp;
struct PoolOp;
}  // namespace ocrcore::detail

namespace ocrcore::detail::tuning {

// Whether a Tucker chain runs composed back into one convolution. Measured
// on the compact student at batch 1 (bench_layers with --tucker chain /
// composed): layers of up to kComposeChannels channels ran as fast or faster
// composed even at twice the multiply-adds; 64 and 128 channels ran faster as
// chains at that ratio. A Tucker-1 first layer (one input channel) composes
// into a one-channel 3x3 convolution, which runs on ocrcore's own kernel.
inline constexpr int kComposeChannels = 32;
inline constexpr double kComposeRatio = 1.5;
bool compose_tucker(const TuckerOp& op, bool first_layer, TuckerExecution mode);

// Whether to ask oneDNN for Winograd for a convolution with `out_height`
// output rows (it may still have no implementation for the shape; direct
// convolution is then used). Only 3x3, stride 1, pad 1 convolutions qualify.
bool winograd(const ConvOp& op, int out_height, ConvAlgorithm algorithm);

// Whether to pass over oneDNN's convolution implementation `impl` (its
// impl_info_str) for the next one it offers. oneDNN 2.6 lists its brgemm
// convolutions ("brg...") first. For int8 (VNNI) convolutions its direct
// kernels (jit_int8) ran faster on the CRNN layers (DNNL_VERBOSE over 210
// uw3-dev lines, one thread: compact 95 -> 87 ms of convolution, teacher
// 517 -> 448 ms) and were created 6-8x faster (97 -> 21 ms; each new batch
// width creates its primitives), 13% and 11% of the whole program. In fp32
// brgemm ran 14% faster, so it stays first there.
bool skip_conv_implementation(std::string_view impl, bool int8);

// Whether the first layer runs on ocrcore's own one-channel kernel
// (kernels::ImageConv): a 3x3, stride 1, pad 1 convolution of the image with
// a multiple of 8 output channels.
bool image_conv(const ConvOp& op);
// Whether the pool after that layer folds into the kernel: 2x2, stride 2, no
// padding, floor mode (in ceil mode a line of odd width would pool a
// convolution output computed past its end, where the unfused path sees -inf).
bool image_conv_pool(const PoolOp& op);

}  // namespace ocrcore::detail::tuning
