// One ONNX LSTM node per layer, gates reordered (i, o, f, c), the
// directions' outputs merged as PyTorch does.

#include "layers/lstm/lstm.hpp"
#include "onnx/layer_export.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_lstm(const LstmSpec& l, LayerExport& e) {
  const int H = l.hidden_size, dirs = l.bidirectional ? 2 : 1;
  for (int k = 0; k < l.num_layers; ++k) {
    const int in = k == 0 ? l.input_size : H * dirs;
    std::vector<float> W, R, B;
    for (int dir = 0; dir < dirs; ++dir) {
      const LstmTensorNames names = l.tensor_names(k, dir);
      const Tensor& wih = e.tensor(names.weight_ih);
      const Tensor& whh = e.tensor(names.weight_hh);
      const Tensor& bih = e.tensor(names.bias_ih);
      const Tensor& bhh = e.tensor(names.bias_hh);
      auto append = [&](std::vector<float>& dst, const std::vector<float>& src, int cols) {
        for (int gi = 0; gi < 4; ++gi) {
          const auto begin =
              src.begin() + static_cast<std::ptrdiff_t>(kTorchGateOfOnnxGate[gi]) * H * cols;
          dst.insert(dst.end(), begin, begin + static_cast<std::ptrdiff_t>(H) * cols);
        }
      };
      append(W, wih.data, in);
      append(R, whh.data, H);
      append(B, bih.data, 1);
      append(B, bhh.data, 1);
    }
    const std::string prefix = l.name + ".onnx_l" + std::to_string(k);
    e.graph.float_tensor(prefix + ".W", {dirs, 4 * H, in}, W);
    e.graph.float_tensor(prefix + ".R", {dirs, 4 * H, H}, R);
    e.graph.float_tensor(prefix + ".B", {dirs, 8 * H}, B);
    auto* n = e.graph.node("LSTM", "/" + l.name + "/LSTM" + (k ? "_" + std::to_string(k) : ""),
                           {e.current, prefix + ".W", prefix + ".R", prefix + ".B"});
    GraphBuilder::integer(n, "hidden_size", H);
    GraphBuilder::string(n, "direction", l.bidirectional ? "bidirectional" : "forward");
    if (l.bidirectional) {
      auto* tr = e.graph.node("Transpose", "/" + l.name + "/Transpose" + std::to_string(k),
                              {n->output(0)});
      GraphBuilder::ints(tr, "perm", {0, 2, 1, 3});
      e.current = e.graph
                      .node("Reshape", "/" + l.name + "/Reshape" + std::to_string(k),
                            {tr->output(0), "ocrcore.merge_last_two"})
                      ->output(0);
    } else {
      const std::string axes = prefix + ".squeeze_axes";
      e.graph.int_tensor(axes, {1});
      e.current =
          e.graph
              .node("Squeeze", "/" + l.name + "/Squeeze" + std::to_string(k), {n->output(0), axes})
              ->output(0);
    }
  }
}

}  // namespace

void register_lstm_onnx(OnnxExportRegistry& registry) {
  registry.add<LstmSpec, export_lstm>();
}

}  // namespace ocrcore::onnx_io
