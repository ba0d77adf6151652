#pragma once

// The registry of every layer kind's ONNX mapping, both ways: its exporter
// (layer_export.hpp), its importers (layer_import.hpp: which ONNX op, on maps
// or on frames, it maps) and the regrouping passes that run over an imported
// model (a Tucker convolution arrives as three Conv nodes). Each kind's
// src/layers/<kind>/<kind>_onnx.cpp registers its own through
// register_<kind>_onnx(), called by the list generated from
// src/layers/kinds.cmake, so that export_onnx and import_onnx know no kind.

#include <string>
#include <string_view>
#include <vector>

#include "layers/layer_kind.hpp"
#include "onnx/layer_export.hpp"
#include "onnx/layer_import.hpp"

namespace ocrcore::onnx_io {

class OnnxLayerRegistry {
 public:
  using Export = void (*)(const LayerSpec& layer, LayerExport& e);
  // Maps l.node; false when the node is not this kind's (another importer of
  // the same op is asked next).
  using Import = bool (*)(LayerImport& l);
  using Regroup = void (*)(ImportedModel& model);
  struct Importer {
    std::string_view op_type;
    Carrier carrier;
    Import import;
  };

  template <class Spec, void (*write)(const Spec&, LayerExport&)>
  void add_export() {
    add_export(detail::LayerKind<Spec>::type_name,
               [](const LayerSpec& layer, LayerExport& e) { write(*layer.as<Spec>(), e); });
  }
  void add_export(std::string_view type, Export write);
  void add_import(std::string_view op_type, Carrier carrier, Import import);
  void add_regroup(Regroup pass);

  // The exporter of `layer`'s kind; throws Error for a kind without one.
  Export exporter(const LayerSpec& layer) const;
  const std::vector<Importer>& importers() const { return importers_; }
  const std::vector<Regroup>& regroups() const { return regroups_; }

 private:
  std::vector<std::pair<std::string_view, Export>> exporters_;
  std::vector<Importer> importers_;
  std::vector<Regroup> regroups_;
};

// Every kind's mapping, registered on first use.
const OnnxLayerRegistry& onnx_layers();
// Generated (src/layers/kinds.cmake): registers every kind's mapping.
void register_onnx_layers(OnnxLayerRegistry& registry);

}  // namespace ocrcore::onnx_io
