#include "layers/tucker_conv/tucker_conv_reference.hpp"

#include "layers/conv2d/conv2d_reference.hpp"

namespace ocrcore::detail {

FeatureMap tucker_conv_reference(const FeatureMap& in, const TuckerOp& op, bool bf16) {
  auto conv = [&](const FeatureMap& x, const ConvOp& c) {
    return bf16 ? conv2d_bf16_reference(x, c) : conv2d_reference(x, c);
  };
  FeatureMap map = op.has_in ? conv(in, op.in) : in;
  map = conv(map, op.core);
  return conv(map, op.out);
}

void TuckerOp::reference(ReferenceValue& v, const ReferenceArithmetic& arithmetic) const {
  v.map = tucker_conv_reference(v.map, *this, arithmetic.bf16);
}

}  // namespace ocrcore::detail
