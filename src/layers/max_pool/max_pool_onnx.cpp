// MaxPool with PyTorch's padding and ceil mode.

#include "layers/max_pool/max_pool.hpp"
#include "onnx/layer_export.hpp"

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

}  // namespace

void register_max_pool_onnx(OnnxExportRegistry& registry) {
  registry.add<MaxPoolSpec, export_max_pool>();
}

}  // namespace ocrcore::onnx_io
