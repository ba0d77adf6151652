// MaxPool with PyTorch's padding and ceil mode, both ways.

#include "layers/max_pool/max_pool.hpp"
#include "onnx/layer_onnx.hpp"
#include "runtime/graph/shapes.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_max_pool(const MaxPoolSpec& p, LayerExport& e) {
  auto* n = e.graph.node("MaxPool", "/pool" + e.anon + "/MaxPool", {e.current});
  GraphBuilder::ints(n, "kernel_shape", {p.kernel_h, p.kernel_w});
  GraphBuilder::ints(n, "strides", {p.stride_h, p.stride_w});
  GraphBuilder::ints(n, "pads", {p.pad_h, p.pad_w, p.pad_h, p.pad_w});
  GraphBuilder::integer(n, "ceil_mode", p.ceil_mode ? 1 : 0);
  e.current = n->output(0);
}

bool import_max_pool(LayerImport& l) {
  const onnx::NodeProto& n = l.node;
  for (auto d : ints_attribute(n, "dilations", {1, 1}))
    if (d != 1) l.fail("dilated pooling is not supported");
  if (n.output_size() > 1 && !n.output(1).empty())
    l.fail("pooling indices output is not supported");
  if (const auto* a = find_attribute(n, "auto_pad"); a && a->s() != "NOTSET")
    l.fail("auto_pad " + a->s() + " is not supported (explicit pads only)");
  const auto k = l.graph.geometry(n, "kernel_shape", {}, 2, 1);
  const auto strides = l.graph.geometry(n, "strides", {1, 1}, 2, 1);
  const auto pads = l.graph.geometry(n, "pads", {0, 0, 0, 0}, 4, 0);
  if (pads[0] != pads[2] || pads[1] != pads[3]) l.fail("asymmetric padding is not supported");
  MaxPoolSpec s;
  s.kernel_h = k[0], s.kernel_w = k[1];
  s.stride_h = strides[0], s.stride_w = strides[1];
  s.pad_h = pads[0], s.pad_w = pads[1];
  s.ceil_mode = int_attribute(n, "ceil_mode", 0) != 0;
  l.height = detail::pool_out(l.height, s.kernel_h, s.stride_h, s.pad_h, s.ceil_mode);
  l.out.architecture.layers.push_back(s);
  return true;
}

}  // namespace

void register_max_pool_onnx(OnnxLayerRegistry& registry) {
  registry.add_export<MaxPoolSpec, export_max_pool>();
  registry.add_import("MaxPool", Carrier::maps, import_max_pool);
}

}  // namespace ocrcore::onnx_io
