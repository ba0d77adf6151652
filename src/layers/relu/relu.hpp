#pragma once

#include "layers/layer_kind.hpp"

namespace ocrcore {

struct ReluSpec {};

}  // namespace ocrcore

namespace ocrcore::detail {

template <>
struct LayerKind<ReluSpec> : ElementwiseLayerKind {
  static constexpr std::string_view type_name = "relu";
  static ReluSpec parse(FieldReader&) { return {}; }
  static void check(const ReluSpec&, ShapeCheck&) {}
  static void lower(const ReluSpec& s, Lowering& lowering);
};

}  // namespace ocrcore::detail
