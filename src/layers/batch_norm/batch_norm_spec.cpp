#include "layers/batch_norm/batch_norm.hpp"

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

}  // namespace ocrcore::detail
