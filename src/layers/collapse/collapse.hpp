#pragma once

#include "layers/layer_kind.hpp"

namespace ocrcore {

// Turns the C x H' x W' feature map into W' frames of D = C * H' values;
// frame t holds feature[c * H' + h] = map[c][h][t] (PyTorch's
// x.permute(3, 0, 1, 2).reshape(W', N, C * H')).
struct CollapseSpec {};

}  // namespace ocrcore

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
  static void lower(const CollapseSpec& s, Lowering& lowering);
};

}  // namespace ocrcore::detail
