// BatchNormalization (the runtime folds it; ONNX keeps it a node).

#include "layers/batch_norm/batch_norm.hpp"
#include "onnx/layer_export.hpp"

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

}  // namespace

void register_batch_norm_onnx(OnnxExportRegistry& registry) {
  registry.add<BatchNormSpec, export_batch_norm>();
}

}  // namespace ocrcore::onnx_io
