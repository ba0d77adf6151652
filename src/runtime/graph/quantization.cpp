#include "runtime/graph/quantization.hpp"

#include <algorithm>
#include <cmath>

namespace ocrcore::detail {

std::vector<float> row_scales(const std::vector<float>& matrix, std::size_t rows) {
  const std::size_t per_row = rows ? matrix.size() / rows : 0;
  std::vector<float> scale(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* w = matrix.data() + r * per_row;
    float max_abs = 0;
    for (std::size_t k = 0; k < per_row; ++k)
      max_abs = std::max(max_abs, std::abs(w[k]));
    scale[r] = max_abs > 0 ? max_abs / 127.0f : 1.0f;
  }
  return scale;
}

Int8Rows quantize_rows(const std::vector<float>& matrix, std::size_t rows) {
  Int8Rows q;
  const std::size_t per_row = rows ? matrix.size() / rows : 0;
  q.scale = row_scales(matrix, rows);
  q.values.resize(matrix.size());
  for (std::size_t r = 0; r < rows; ++r) {
    const float* w = matrix.data() + r * per_row;
    const float scale = q.scale[r];
    // fmin/fmax, not clamp: batch-norm folding can overflow a weight to
    // infinity, and inf / inf, a NaN, must still give a defined integer.
    for (std::size_t k = 0; k < per_row; ++k)
      q.values[r * per_row + k] = static_cast<std::int8_t>(
          std::nearbyint(std::fmin(std::fmax(w[k] / scale, -127.0f), 127.0f)));
  }
  return q;
}

std::vector<float> dequantize_rows(const Int8Rows& q) {
  std::vector<float> out(q.values.size());
  const std::size_t per_row = q.scale.empty() ? 0 : q.values.size() / q.scale.size();
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<float>(q.values[i]) * q.scale[i / per_row];
  return out;
}

std::vector<bool> int8_convolutions(const CompiledNetwork& network) {
  const auto& ops = network.ops;
  std::vector<bool> int8(ops.size(), false);
  bool nonnegative = false;  // the image may be anything a model was trained on
  for (std::size_t i = 0; i < ops.size(); ++i) {
    int8[i] = ops[i]->int8_capable() && nonnegative;
    nonnegative = ops[i]->output_nonnegative(nonnegative);
  }
  return int8;
}

std::vector<bool> bf16_convolutions(const CompiledNetwork& network) {
  std::vector<bool> bf16(network.ops.size(), false);
  for (std::size_t i = 1; i < network.ops.size(); ++i)
    bf16[i] = network.ops[i]->bf16_capable();
  return bf16;
}

}  // namespace ocrcore::detail
