#include <cmath>

#include "layers/batch_norm/batch_norm.hpp"
#include "layers/layer_registry.hpp"
#include "ocrcore/error.hpp"
#include "runtime/graph/lowering.hpp"

namespace ocrcore::detail {

BatchNormSpec LayerKind<BatchNormSpec>::parse(FieldReader& f) {
  BatchNormSpec s;
  s.name = f.string("name");
  s.num_features = f.integer("num_features", std::nullopt, 1);
  s.eps = static_cast<float>(f.number("eps", 1e-5));
  if (!(s.eps > 0)) f.fail("eps must be > 0");
  f.number("momentum", 0.1);  // training-only, accepted for PyTorch parity
  f.boolean("affine", true);
  return s;
}

void LayerKind<BatchNormSpec>::write(const BatchNormSpec& s, json& j) {
  j["name"] = s.name;
  j["num_features"] = s.num_features;
  j["eps"] = s.eps;
}

void LayerKind<BatchNormSpec>::check(const BatchNormSpec& s, ShapeCheck& c) {
  c.need_feature_map();
  if (!c.follows_convolution)
    c.fail("must directly follow a conv2d or tucker_conv (it is folded into it)");
  if (s.num_features != c.shape.channels)
    c.fail("num_features " + std::to_string(s.num_features) + " but the input has " +
           std::to_string(c.shape.channels) + " channels");
}

void LayerKind<BatchNormSpec>::tensors(const BatchNormSpec& s,
                                       std::vector<TensorRequirement>& out) {
  for (const char* t : {".weight", ".bias", ".running_mean", ".running_var"})
    out.push_back({s.name + t, {s.num_features}});
}

// A per-channel map, (x - mean) * gamma / sqrt(var + eps) + beta, which the
// graph pass folds into the convolution before it (validate() guarantees one).
void LayerKind<BatchNormSpec>::lower(const BatchNormSpec& s, Lowering& l) {
  const auto& gamma = l.values(s.name + ".weight");
  const auto& var = l.values(s.name + ".running_var");
  ScaleShiftOp op;
  op.center = l.take(s.name + ".running_mean");
  op.shift = l.take(s.name + ".bias");
  op.scale.resize(s.num_features);
  for (int o = 0; o < s.num_features; ++o) {
    if (var[o] < 0)
      throw Error("batch norm '" + s.name + "': running_var[" + std::to_string(o) + "] is negative",
                  ErrorKind::bad_model);
    op.scale[o] = gamma[o] / std::sqrt(double(var[o]) + s.eps);
  }
  l.add(std::move(op));
}

void register_batch_norm_layer(LayerKindRegistry& registry) {
  registry.add<BatchNormSpec>();
}

}  // namespace ocrcore::detail
