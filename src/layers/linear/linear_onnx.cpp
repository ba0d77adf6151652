// MatMul by the transposed weights (+ Add of the bias).

#include "layers/linear/linear.hpp"
#include "onnx/layer_export.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_linear(const LinearSpec& lin, LayerExport& e) {
  const Tensor& w = e.tensor(lin.name + ".weight");
  std::vector<float> wt(w.data.size());
  for (int o = 0; o < lin.out_features; ++o)
    for (int i = 0; i < lin.in_features; ++i)
      wt[static_cast<std::size_t>(i) * lin.out_features + o] =
          w.data[static_cast<std::size_t>(o) * lin.in_features + i];
  e.graph.float_tensor(lin.name + ".weight_t", {lin.in_features, lin.out_features}, wt);
  e.current =
      e.graph.node("MatMul", "/" + lin.name + "/MatMul", {e.current, lin.name + ".weight_t"})
          ->output(0);
  if (lin.bias) {
    const Tensor& bt = e.tensor(lin.name + ".bias");
    e.graph.float_tensor(lin.name + ".bias", bt.shape, bt.data);
    e.current =
        e.graph.node("Add", "/" + lin.name + "/Add", {e.current, lin.name + ".bias"})->output(0);
  }
}

}  // namespace

void register_linear_onnx(OnnxExportRegistry& registry) {
  registry.add<LinearSpec, export_linear>();
}

}  // namespace ocrcore::onnx_io
