// MatMul by the transposed weights (+ Add of the bias), both ways.

#include "layers/linear/linear.hpp"
#include "onnx/layer_onnx.hpp"

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

// MatMul of the frames by a constant [in, out] (+ the Add of a constant bias).
bool import_linear(LayerImport& l) {
  const onnx::NodeProto& n = l.node;
  if (n.input(0) != l.input) l.fail("the frames must be the left operand");
  const auto& w = l.graph.constant(n.input(1), n);  // [in, out]
  if (w.shape.size() != 2 || w.shape[0] != l.features)
    l.fail("weight must be [" + std::to_string(l.features) + ", out]");
  LinearSpec s;
  s.name = l.name();
  s.in_features = l.features;
  s.out_features = static_cast<int>(w.shape[1]);
  Tensor weight({s.out_features, s.in_features});
  for (int i = 0; i < s.in_features; ++i)
    for (int o = 0; o < s.out_features; ++o)
      weight.data[static_cast<std::size_t>(o) * s.in_features + i] =
          w.floats[static_cast<std::size_t>(i) * s.out_features + o];
  l.out.tensors[s.name + ".weight"] = std::move(weight);
  s.bias = false;
  if (const onnx::NodeProto* add = l.graph.next_node(n.output(0)); add && add->op_type() == "Add") {
    const std::string other = add->input(0) == n.output(0) ? add->input(1) : add->input(0);
    if (l.graph.is_constant(other)) {
      const auto& b = l.graph.constant(other, *add);
      if (static_cast<int>(b.floats.size()) != s.out_features)
        l.graph.fail(*add, "bias size differs from the output size");
      s.bias = true;
      Tensor bias({s.out_features});
      bias.data = b.floats;
      l.out.tensors[s.name + ".bias"] = std::move(bias);
      l.next = add->output(0);
    }
  }
  l.out.architecture.layers.push_back(s);
  l.features = s.out_features;
  return true;
}

bool refuse_gemm(LayerImport& l) {
  l.fail(
      "Gemm works on 2-D matrices; frame sequences need MatMul + Add (as torch.onnx.export "
      "writes nn.Linear on 3-D input)");
}

}  // namespace

void register_linear_onnx(OnnxLayerRegistry& registry) {
  registry.add_export<LinearSpec, export_linear>();
  registry.add_import("MatMul", Carrier::frames, import_linear);
  registry.add_import("Gemm", Carrier::frames, refuse_gemm);
}

}  // namespace ocrcore::onnx_io
