#pragma once

#include "layers/layer_kind.hpp"

namespace ocrcore {

// Identity at inference; kept so training architectures load unchanged.
struct DropoutSpec {
  float p = 0.0f;
};

}  // namespace ocrcore

namespace ocrcore::detail {

// Identity at inference.
template <>
struct LayerKind<DropoutSpec> : ElementwiseLayerKind {
  static constexpr std::string_view type_name = "dropout";
  static DropoutSpec parse(FieldReader& f) {
    DropoutSpec s;
    s.p = static_cast<float>(f.number("p", 0.0));
    if (s.p < 0 || s.p >= 1) f.fail("p must be in [0, 1)");
    return s;
  }
  static void write(const DropoutSpec& s, json& j) { j["p"] = s.p; }
  static void check(const DropoutSpec&, ShapeCheck&) {}
  static void lower(const DropoutSpec& s, Lowering& lowering);
};

}  // namespace ocrcore::detail
