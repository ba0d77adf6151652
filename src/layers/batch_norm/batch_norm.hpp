#pragma once

#include "layers/layer_kind.hpp"

namespace ocrcore {

// Folded into the preceding convolution when the model is loaded.
struct BatchNormSpec {
  std::string name;
  int num_features = 0;
  float eps = 1e-5f;
};

}  // namespace ocrcore

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
  static void lower(const BatchNormSpec& s, Lowering& lowering);
};

}  // namespace ocrcore::detail
