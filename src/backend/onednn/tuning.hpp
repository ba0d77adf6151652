#pragma once

// The oneDNN engine's tuning rules: pure functions of a layer's shape and the
// options, decided once when a model is prepared (or a primitive built) and
// tested on their own (tests/test_backends.cpp).

#include "nn/compiled_network.hpp"
#include "ocrcore/recognizer.hpp"

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

// Whether the first layer runs on ocrcore's own one-channel kernel
// (kernels::ImageConv): a 3x3, stride 1, pad 1 convolution of the image with
// a multiple of 8 output channels.
bool image_conv(const ConvOp& op);
// Whether the pool after that layer folds into the kernel: 2x2, stride 2, no
// padding, floor mode (in ceil mode a line of odd width would pool a
// convolution output computed past its end, where the unfused path sees -inf).
bool image_conv_pool(const PoolOp& op);

}  // namespace ocrcore::detail::tuning
