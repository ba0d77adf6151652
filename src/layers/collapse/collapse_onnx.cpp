// The feature map to frames: Transpose to [W, N, C, H], Reshape to [W, N, C * H]; on
// import also Squeeze + Transpose of a height-1 map.

#include "layers/collapse/collapse.hpp"
#include "onnx/layer_onnx.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_collapse(const CollapseSpec& /*layer*/, LayerExport& e) {
  auto* tr = e.graph.node("Transpose", "/collapse" + e.anon + "/Transpose", {e.current});
  GraphBuilder::ints(tr, "perm", {3, 0, 1, 2});
  e.current = e.graph
                  .node("Reshape", "/collapse" + e.anon + "/Reshape",
                        {tr->output(0), "ocrcore.merge_last_two"})
                  ->output(0);
}

// Transpose [3, 0, 1, 2] (N C H W -> W N C H), then the Reshape that merges
// channels and height into frame features.
bool import_transposed_collapse(LayerImport& l) {
  if (ints_attribute(l.node, "perm") != std::vector<std::int64_t>{3, 0, 1, 2})
    l.fail(
        "only the permutation [3, 0, 1, 2] (N C H W -> W N C H, before the sequence reshape) "
        "is supported");
  const auto& reshape = l.successor(
      l.node.output(0), "expected the Reshape that merges channels and height into frame features");
  if (reshape.op_type() != "Reshape")
    l.graph.fail(reshape,
                 "expected the Reshape that merges channels and height into frame features");
  l.out.architecture.layers.push_back(CollapseSpec{});
  l.features = l.channels * l.height;
  l.carrier = Carrier::frames;
  l.next = reshape.output(0);
  return true;
}

// Squeeze of the height axis (2) of a height-1 map, then Transpose [2, 0, 1]
// (N C W -> W N C).
bool import_squeezed_collapse(LayerImport& l) {
  std::vector<std::int64_t> axes = ints_attribute(l.node, "axes");
  if (l.node.input_size() > 1) axes = l.graph.constant(l.node.input(1), l.node).ints;
  if (axes != std::vector<std::int64_t>{2} || l.height != 1)
    l.fail("only squeezing the height axis (2) of a height-1 map is supported");
  const auto& transpose =
      l.successor(l.node.output(0), "expected Transpose with permutation [2, 0, 1]");
  if (transpose.op_type() != "Transpose" ||
      ints_attribute(transpose, "perm") != std::vector<std::int64_t>{2, 0, 1})
    l.graph.fail(transpose, "expected Transpose with permutation [2, 0, 1] (N C W -> W N C)");
  l.out.architecture.layers.push_back(CollapseSpec{});
  l.features = l.channels;
  l.carrier = Carrier::frames;
  l.next = transpose.output(0);
  return true;
}

}  // namespace

void register_collapse_onnx(OnnxLayerRegistry& registry) {
  registry.add_export<CollapseSpec, export_collapse>();
  registry.add_import("Transpose", Carrier::maps, import_transposed_collapse);
  registry.add_import("Squeeze", Carrier::maps, import_squeezed_collapse);
}

}  // namespace ocrcore::onnx_io
