#pragma once

// int8 arithmetic (RecognizerOptions::conv_precision, lstm_precision) and
// int8 model files (save_model with Precision::int8): how weights are
// quantised, which convolutions run in int8 (or bf16) and how their inputs
// are quantised. One definition for the engines, the reference that checks them
// and the model file.

#include <cstdint>
#include <vector>

#include "runtime/graph/compiled_network.hpp"

namespace ocrcore::detail {

// A matrix quantised symmetrically per row: row r ~ values[r] * scale[r],
// values in [-127, 127], scale = largest |value| of the row / 127 (1 for a row
// of zeros). Rows are a convolution's output channels ([out][in][kh][kw]) or
// an LSTM matrix's gate rows; re-quantising the dequantised matrix gives the
// same values back, so a model file stores what the engines will run.
struct Int8Rows {
  std::vector<std::int8_t> values;
  std::vector<float> scale;
};
Int8Rows quantize_rows(const std::vector<float>& matrix, std::size_t rows);
// The scales quantize_rows gives, without the values.
std::vector<float> row_scales(const std::vector<float>& matrix, std::size_t rows);
std::vector<float> dequantize_rows(const Int8Rows& q);

// Per op of `network`: true for the convolutions that run in int8, the plain
// convolutions (not Tucker chains) whose input is a ReLU's output, through
// max pools, so that it fits uint8: never the first layer.
std::vector<bool> int8_convolutions(const CompiledNetwork& network);

// Per op of `network`: true for the convolutions (and Tucker chains) that
// run in bf16 with conv_precision bf16: all but the image layer, whose single
// input channel makes it cheap and whose input is the image itself.
std::vector<bool> bf16_convolutions(const CompiledNetwork& network);

// An int8 convolution's input x >= 0 is quantised to round(x * scale) in
// [0, 255], the scale mapping the largest value to 255 (1 when all are 0).
inline float int8_input_scale(float largest) {
  return largest > 0 ? 255.0f / largest : 1.0f;
}

}  // namespace ocrcore::detail
