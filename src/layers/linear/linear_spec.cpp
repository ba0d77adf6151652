#include "layers/layer_registry.hpp"
#include "layers/linear/linear.hpp"
#include "layers/linear/linear_op.hpp"
#include "runtime/graph/lowering.hpp"

namespace ocrcore::detail {

LinearSpec LayerKind<LinearSpec>::parse(FieldReader& f) {
  LinearSpec s;
  s.name = f.string("name");
  s.in_features = f.integer("in_features", std::nullopt, 1);
  s.out_features = f.integer("out_features", std::nullopt, 1);
  s.bias = f.boolean("bias", true);
  return s;
}

void LayerKind<LinearSpec>::write(const LinearSpec& s, json& j) {
  j["name"] = s.name;
  j["in_features"] = s.in_features;
  j["out_features"] = s.out_features;
  j["bias"] = s.bias;
}

void LayerKind<LinearSpec>::check(const LinearSpec& s, ShapeCheck& c) {
  c.need_sequence();
  if (s.in_features != c.shape.features)
    c.fail("in_features " + std::to_string(s.in_features) + " but the input has " +
           std::to_string(c.shape.features) + " features");
  c.shape.features = s.out_features;
}

void LayerKind<LinearSpec>::tensors(const LinearSpec& s, std::vector<TensorRequirement>& out) {
  out.push_back({s.name + ".weight", {s.out_features, s.in_features}});
  if (s.bias) out.push_back({s.name + ".bias", {s.out_features}});
}

void LayerKind<LinearSpec>::lower(const LinearSpec& s, Lowering& l) {
  LinearOp op;
  op.in_features = s.in_features;
  op.out_features = s.out_features;
  op.weight = l.take(s.name + ".weight");
  op.bias = s.bias ? l.take(s.name + ".bias")
                   : std::vector<float>(static_cast<std::size_t>(s.out_features));
  l.add(std::move(op));
}

std::string LinearOp::describe() const {
  return "linear " + std::to_string(in_features) + "->" + std::to_string(out_features);
}

bool LinearOp::fuse_relu() {
  if (relu) return false;
  relu = true;
  return true;
}

void register_linear_layer(LayerKindRegistry& registry) {
  registry.add<LinearSpec>();
}

}  // namespace ocrcore::detail
