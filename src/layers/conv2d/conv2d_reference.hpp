#pragma once

#include "layers/conv2d/conv2d_op.hpp"
#include "runtime/graph/quantization.hpp"
#include "runtime/graph/reference_data.hpp"

namespace ocrcore::detail {

// Cross-correlation with zero padding, bias, optional ReLU (PyTorch Conv2d).
FeatureMap conv2d_reference(const FeatureMap& in, const ConvOp& op);
// conv2d_reference in int8 arithmetic (RecognizerOptions::conv_precision):
// the input (>= 0) quantised to uint8 with int8_input_scale of its largest
// value, the weights as given, integer sums, then
// relu(sum / input_scale * weights.scale[oc] + bias).
FeatureMap conv2d_int8_reference(const FeatureMap& in, const ConvOp& op, const Int8Rows& weights);
// conv2d_reference in bf16 arithmetic: the input and the weights rounded to
// bfloat16 (to nearest even, core/bfloat16.hpp), the sums and the bias in
// full precision.
FeatureMap conv2d_bf16_reference(const FeatureMap& in, const ConvOp& op);

}  // namespace ocrcore::detail
