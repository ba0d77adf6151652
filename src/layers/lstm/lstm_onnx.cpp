// One ONNX LSTM node per layer, gates reordered (i, o, f, c), the
// directions' outputs merged as PyTorch does; both ways.

#include "layers/lstm/lstm.hpp"
#include "onnx/layer_onnx.hpp"

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

// One ONNX LSTM node (forward or bidirectional, zero initial states), and
// the nodes that reshape its T x dirs x N x H output to frames. Consecutive
// LSTM nodes of one module (PyTorch's num_layers) stack into one layer.
bool import_lstm(LayerImport& l) {
  const onnx::NodeProto& n = l.node;
  const auto* dir_attr = find_attribute(n, "direction");
  const std::string direction = dir_attr ? dir_attr->s() : "forward";
  if (direction != "forward" && direction != "bidirectional")
    l.fail("direction " + direction + " is not supported (forward, bidirectional)");
  const bool bidirectional = direction == "bidirectional";
  const int H = static_cast<int>(int_attribute(n, "hidden_size", 0));
  if (H <= 0) l.fail("hidden_size missing");
  if (find_attribute(n, "clip")) l.fail("cell clipping is not supported");
  if (int_attribute(n, "input_forget", 0) != 0) l.fail("input_forget is not supported");
  if (int_attribute(n, "layout", 0) != 0) l.fail("only layout 0 (time-major) is supported");
  if (const auto* a = find_attribute(n, "activations")) {
    const std::vector<std::string> standard = {"Sigmoid", "Tanh", "Tanh"};
    for (int i = 0; i < a->strings_size(); ++i)
      if (a->strings(i) != standard[static_cast<std::size_t>(i % 3)])
        l.fail("activation " + a->strings(i) + " is not supported (Sigmoid, Tanh, Tanh)");
  }
  if (n.input_size() > 4 && !n.input(4).empty()) {
    // Per-line lengths only matter for padded batches; the runtime handles those itself.
    if (l.graph.is_constant(n.input(4))) l.fail("constant sequence_lens are not supported");
  }
  l.graph.require_zero(n.input_size() > 5 ? n.input(5) : "", n, "initial_h");
  l.graph.require_zero(n.input_size() > 6 ? n.input(6) : "", n, "initial_c");
  if (n.input_size() > 7 && !n.input(7).empty()) l.fail("peephole weights are not supported");
  for (int o = 1; o < n.output_size(); ++o)
    if (!n.output(o).empty() && l.graph.is_read(n.output(o)))
      l.fail("its final hidden or cell state is used by other nodes (not supported)");
  const int features = l.features;
  const auto& W = l.graph.constant(n.input(1), n);
  const auto& R = l.graph.constant(n.input(2), n);
  const int dirs = bidirectional ? 2 : 1;
  if (W.shape != std::vector<std::int64_t>{dirs, 4 * H, features})
    l.fail("W must be [" + std::to_string(dirs) + ", " + std::to_string(4 * H) + ", " +
           std::to_string(features) + "]");
  if (R.shape != std::vector<std::int64_t>{dirs, 4 * H, H}) l.fail("R has the wrong shape");
  std::vector<float> B(static_cast<std::size_t>(dirs) * 8 * H, 0.0f);
  if (n.input_size() > 3 && !n.input(3).empty()) {
    B = l.graph.constant(n.input(3), n).floats;
    if (B.size() != static_cast<std::size_t>(dirs) * 8 * H) l.fail("B has the wrong size");
  }
  const std::string name = l.name();
  auto& layers = l.out.architecture.layers;
  LstmSpec* stack = layers.empty() ? nullptr : layers.back().as<LstmSpec>();
  if (!stack || stack->name != name || stack->hidden_size != H ||
      stack->bidirectional != bidirectional) {
    LstmSpec s;
    s.name = name;
    s.input_size = features;
    s.hidden_size = H;
    s.num_layers = 0;
    s.bidirectional = bidirectional;
    layers.push_back(s);
    stack = layers.back().as<LstmSpec>();
  }
  const int layer = stack->num_layers++;
  // ONNX gate order i, o, f, c -> PyTorch i, f, g, o.
  const int onnx_block[4] = {0, 2, 3, 1};
  auto reorder = [&](const float* src, int cols) {
    std::vector<float> dst(static_cast<std::size_t>(4) * H * cols);
    for (int g = 0; g < 4; ++g)
      std::copy_n(src + static_cast<std::size_t>(onnx_block[g]) * H * cols,
                  static_cast<std::size_t>(H) * cols,
                  dst.begin() + static_cast<std::ptrdiff_t>(g) * H * cols);
    return dst;
  };
  for (int d = 0; d < dirs; ++d) {
    LstmTensorNames names = stack->tensor_names(layer, d);
    Tensor wih({4 * H, features}), whh({4 * H, H}), bih({4 * H}), bhh({4 * H});
    wih.data = reorder(W.floats.data() + static_cast<std::size_t>(d) * 4 * H * features, features);
    whh.data = reorder(R.floats.data() + static_cast<std::size_t>(d) * 4 * H * H, H);
    bih.data = reorder(B.data() + static_cast<std::size_t>(d) * 8 * H, 1);
    bhh.data = reorder(B.data() + static_cast<std::size_t>(d) * 8 * H + 4 * H, 1);
    l.out.tensors[std::move(names.weight_ih)] = std::move(wih);
    l.out.tensors[std::move(names.weight_hh)] = std::move(whh);
    l.out.tensors[std::move(names.bias_ih)] = std::move(bih);
    l.out.tensors[std::move(names.bias_hh)] = std::move(bhh);
  }
  l.features = H * dirs;
  // The output, T x dirs x N x H, back to frames: Transpose [0, 2, 1, 3] and
  // a Reshape joining the directions, or (forward) a Squeeze of axis 1.
  const std::string expected =
      "expected Transpose [0, 2, 1, 3] + Reshape (bidirectional) or Squeeze axis 1 after the LSTM";
  const auto& after = l.successor(n.output(0), expected);
  if (after.op_type() == "Transpose" &&
      ints_attribute(after, "perm") == std::vector<std::int64_t>{0, 2, 1, 3}) {
    const auto& reshape =
        l.successor(after.output(0), "expected the Reshape that joins both directions' outputs");
    if (reshape.op_type() != "Reshape")
      l.graph.fail(reshape, "expected the Reshape that joins both directions' outputs");
    l.next = reshape.output(0);
  } else if (after.op_type() == "Squeeze") {
    std::vector<std::int64_t> axes = ints_attribute(after, "axes");
    if (after.input_size() > 1) axes = l.graph.constant(after.input(1), after).ints;
    if (axes != std::vector<std::int64_t>{1} || bidirectional)
      l.graph.fail(after,
                   "only squeezing the direction axis (1) of a forward LSTM's output is supported");
    l.next = after.output(0);
  } else {
    l.graph.fail(after, expected);
  }
  return true;
}

}  // namespace

void register_lstm_onnx(OnnxLayerRegistry& registry) {
  registry.add_export<LstmSpec, export_lstm>();
  registry.add_import("LSTM", Carrier::frames, import_lstm);
}

}  // namespace ocrcore::onnx_io
