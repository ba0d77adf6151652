// BatchNormalization (the runtime folds it; ONNX keeps it a node), both ways.

#include "layers/batch_norm/batch_norm.hpp"
#include "onnx/layer_onnx.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_batch_norm(const BatchNormSpec& bn, LayerExport& e) {
  std::vector<std::string> inputs = {e.current};
  for (const char* suffix : {".weight", ".bias", ".running_mean", ".running_var"}) {
    const Tensor& x = e.tensor(bn.name + suffix);
    e.graph.float_tensor(bn.name + suffix, x.shape, x.data);
    inputs.push_back(bn.name + suffix);
  }
  auto* n = e.graph.node("BatchNormalization", "/" + bn.name + "/BatchNormalization", inputs);
  GraphBuilder::real(n, "epsilon", bn.eps);
  e.current = n->output(0);
}

bool import_batch_norm(LayerImport& l) {
  BatchNormSpec s;
  s.name = l.name();
  const auto& scale = l.graph.constant(l.node.input(1), l.node);
  s.num_features = static_cast<int>(scale.floats.size());
  if (const auto* e = find_attribute(l.node, "epsilon")) s.eps = e->f();
  const char* suffix[] = {"", ".weight", ".bias", ".running_mean", ".running_var"};
  for (int k = 1; k <= 4; ++k) {
    const auto& c = l.graph.constant(l.node.input(k), l.node);
    if (static_cast<int>(c.floats.size()) != s.num_features)
      l.fail("batch-norm parameters differ in size");
    Tensor t({s.num_features});
    t.data = c.floats;
    l.out.tensors[s.name + suffix[k]] = std::move(t);
  }
  if (s.num_features != l.channels)
    l.fail("has " + std::to_string(s.num_features) + " channels, its input " +
           std::to_string(l.channels));
  l.out.architecture.layers.push_back(s);
  return true;
}

}  // namespace

void register_batch_norm_onnx(OnnxLayerRegistry& registry) {
  registry.add_export<BatchNormSpec, export_batch_norm>();
  registry.add_import("BatchNormalization", Carrier::maps, import_batch_norm);
}

}  // namespace ocrcore::onnx_io
