#pragma once

#include "runtime/graph/compiled_network.hpp"

namespace ocrcore::detail {

struct CollapseOp final : Op {
  std::string describe() const override { return "collapse"; }
  void reference(ReferenceValue& value, const ReferenceArithmetic& arithmetic) const override;
  bool makes_sequence() const override { return true; }
};

}  // namespace ocrcore::detail
