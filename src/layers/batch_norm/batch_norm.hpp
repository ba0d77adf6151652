#pragma once

#include "layers/layer_kind.hpp"

namespace ocrcore::detail {

// Folded into the convolution before it when a model is loaded: no parameters
// and no work at inference.
template <>
struct LayerKind<BatchNormSpec> : ElementwiseLayerKind {
  static constexpr std::string_view type_name = "batchnorm2d";
  static BatchNormSpec parse(FieldReader& f);
  static void write(const BatchNormSpec& s, json& j);
  static void check(const BatchNormSpec& s, ShapeCheck& c);
  static void tensors(const BatchNormSpec& s, std::vector<TensorRequirement>& out);
};

}  // namespace ocrcore::detail
