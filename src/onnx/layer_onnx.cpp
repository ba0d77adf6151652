#include "onnx/layer_onnx.hpp"

#include "ocrcore/error.hpp"

namespace ocrcore::onnx_io {

void OnnxLayerRegistry::add_export(std::string_view type, Export write) {
  exporters_.emplace_back(type, write);
}

void OnnxLayerRegistry::add_import(std::string_view op_type, Carrier carrier, Import import) {
  importers_.push_back({op_type, carrier, import});
}

void OnnxLayerRegistry::add_regroup(Regroup pass) {
  regroups_.push_back(pass);
}

OnnxLayerRegistry::Export OnnxLayerRegistry::exporter(const LayerSpec& layer) const {
  for (const auto& [type, write] : exporters_)
    if (type == layer.type()) return write;
  throw Error("layer kind '" + std::string(layer.type()) + "' has no ONNX export",
              ErrorKind::unsupported);
}

const OnnxLayerRegistry& onnx_layers() {
  static const OnnxLayerRegistry registry = [] {
    OnnxLayerRegistry r;
    register_onnx_layers(r);
    return r;
  }();
  return registry;
}

}  // namespace ocrcore::onnx_io
