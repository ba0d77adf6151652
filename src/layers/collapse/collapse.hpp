#pragma once

#include "layers/layer_kind.hpp"

namespace ocrcore::detail {

// The feature map's columns become frames: no work of its own (the engines
// lay the data out for the LSTM as part of it).
template <>
struct LayerKind<CollapseSpec> : ElementwiseLayerKind {
  static constexpr std::string_view type_name = "collapse";
  static CollapseSpec parse(FieldReader&) { return {}; }
  static void check(const CollapseSpec&, ShapeCheck& c) {
    c.need_feature_map();
    c.shape.sequence = true;
    c.shape.features = c.shape.channels * c.shape.height;
  }
};

}  // namespace ocrcore::detail
