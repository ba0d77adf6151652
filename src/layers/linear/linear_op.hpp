#pragma once

#include <vector>

#include "runtime/graph/compiled_network.hpp"

namespace ocrcore::detail {

struct LinearOp final : Op {
  int in_features = 0, out_features = 0;
  bool relu = false;
  std::vector<float> weight;  // [out][in]
  std::vector<float> bias;    // [out]

  std::string describe() const override;
  void reference(ReferenceValue& value, const ReferenceArithmetic& arithmetic) const override;
  bool fuse_relu() override;
  bool output_nonnegative(bool) const override { return relu; }
};

}  // namespace ocrcore::detail
