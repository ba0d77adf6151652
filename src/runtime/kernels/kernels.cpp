#include "runtime/kernels/kernels.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "ocrcore/error.hpp"

namespace ocrcore::detail::kernels {

PackedRecurrent pack_recurrent(const float* w_hh, const float* bias, int hidden) {
  PackedRecurrent p;
  p.hidden = hidden;
  p.padded = (4 * hidden + kGatePadding - 1) / kGatePadding * kGatePadding;
  p.w.assign(static_cast<std::size_t>(hidden) * p.padded, 0.0f);
  for (int g = 0; g < 4 * hidden; ++g)
    for (int k = 0; k < hidden; ++k)
      p.w[(static_cast<std::size_t>(g / kGatePadding) * hidden + k) * kGatePadding +
          g % kGatePadding] = w_hh[static_cast<std::size_t>(g) * hidden + k];
  p.bias.assign(p.padded, 0.0f);
  if (bias) std::copy(bias, bias + 4 * hidden, p.bias.begin());
  return p;
}

PackedInt8Rows pack_int8_rows(const float* w, int rows, int k, float x_scale) {
  PackedInt8Rows p;
  p.rows = rows;
  p.k = k;
  p.padded = (rows + kGatePadding - 1) / kGatePadding * kGatePadding;
  p.k_groups = (k + 3) / 4;
  p.w.assign(static_cast<std::size_t>(p.padded) * p.k_groups * 4, 0);
  p.scale.assign(p.padded, 0.0f);
  p.zero_term.assign(p.padded, 0);
  for (int r = 0; r < rows; ++r) {
    const float* row = w + static_cast<std::size_t>(r) * k;
    float max_abs = 0;
    for (int i = 0; i < k; ++i)
      max_abs = std::max(max_abs, std::abs(row[i]));
    const float row_scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
    p.scale[r] = row_scale * x_scale;
    std::int32_t sum = 0;
    for (int i = 0; i < k; ++i) {
      const auto q = static_cast<std::int8_t>(
          std::clamp(static_cast<int>(std::nearbyint(row[i] / row_scale)), -127, 127));
      sum += q;
      p.w[((static_cast<std::size_t>(r / kGatePadding) * p.k_groups + i / 4) * kGatePadding +
           r % kGatePadding) *
              4 +
          i % 4] = q;
    }
    p.zero_term[r] = 128 * sum;
  }
  return p;
}

PackedDense pack_dense(const float* w, const float* bias, int rows, int k) {
  PackedDense p;
  p.rows = rows;
  p.k = k;
  p.padded = (rows + kDensePadding - 1) / kDensePadding * kDensePadding;
  p.w.assign(static_cast<std::size_t>(k) * p.padded, 0.0f);
  p.bias.assign(p.padded, 0.0f);
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < k; ++i)
      p.w[static_cast<std::size_t>(i) * p.padded + r] = w[static_cast<std::size_t>(r) * k + i];
  if (bias) std::copy(bias, bias + rows, p.bias.begin());
  return p;
}

PackedRecurrentInt8 pack_recurrent_int8(const float* w_hh, const float* bias, int hidden) {
  if (hidden < 1 || hidden > kMaxInt8Hidden)
    throw Error("int8 LSTM step: hidden size " + std::to_string(hidden) + " is outside 1.." +
                    std::to_string(kMaxInt8Hidden),
                ErrorKind::unsupported);
  PackedRecurrentInt8 p;
  static_cast<PackedInt8Rows&>(p) = pack_int8_rows(w_hh, 4 * hidden, hidden, 1.0f / 127.0f);
  p.hidden = hidden;
  p.bias.assign(p.padded, 0.0f);
  if (bias) std::copy(bias, bias + 4 * hidden, p.bias.begin());
  return p;
}

const KernelTable& kernel_table(Isa isa) {
  switch (isa) {
    case Isa::generic:
      return generic_kernels();
    case Isa::avx2:
      return avx2_kernels();
    case Isa::avx512:
      return avx512_kernels();
    case Isa::automatic:
      break;
  }
  throw Error("kernel_table needs a resolved instruction set", ErrorKind::internal);
}

}  // namespace ocrcore::detail::kernels
