#include "layers/max_pool/max_pool_reference.hpp"

#include <algorithm>
#include <limits>

#include "runtime/graph/shapes.hpp"

namespace ocrcore::detail {

FeatureMap maxpool_reference(const FeatureMap& in, const PoolOp& op) {
  const int oh = pool_out(in.height, op.kernel_h, op.stride_h, op.pad_h, op.ceil_mode);
  const int ow = pool_out(in.width, op.kernel_w, op.stride_w, op.pad_w, op.ceil_mode);
  FeatureMap out(in.channels, oh, ow);
  for (int c = 0; c < in.channels; ++c) {
    for (int y = 0; y < oh; ++y) {
      for (int x = 0; x < ow; ++x) {
        float best = -std::numeric_limits<float>::infinity();
        for (int ky = 0; ky < op.kernel_h; ++ky) {
          const int iy = y * op.stride_h - op.pad_h + ky;
          if (iy < 0 || iy >= in.height) continue;
          for (int kx = 0; kx < op.kernel_w; ++kx) {
            const int ix = x * op.stride_w - op.pad_w + kx;
            if (ix < 0 || ix >= in.width) continue;
            best = std::max(best, in.at(c, iy, ix));
          }
        }
        out.at(c, y, x) = best;
      }
    }
  }
  return out;
}

void PoolOp::reference(ReferenceValue& v, const ReferenceArithmetic&) const {
  v.map = maxpool_reference(v.map, *this);
}

}  // namespace ocrcore::detail
