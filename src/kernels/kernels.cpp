#include "kernels/kernels.hpp"

#include <algorithm>

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
  throw Error("kernel_table needs a resolved instruction set");
}

}  // namespace ocrcore::detail::kernels
