#include "layers/layer_registry.hpp"

#include "ocrcore/error.hpp"

namespace ocrcore::detail {

void LayerKindRegistry::add(Entry entry) {
  if (find(entry.type))
    throw Error("layer kind '" + std::string(entry.type) + "' registered twice",
                ErrorKind::internal);
  entries_.push_back(entry);
}

const LayerKindRegistry::Entry* LayerKindRegistry::find(std::string_view type) const {
  for (const Entry& e : entries_)
    if (e.type == type) return &e;
  return nullptr;
}

std::string LayerKindRegistry::known_types() const {
  std::string known;
  for (const Entry& e : entries_)
    known += (known.empty() ? "" : ", ") + std::string(e.type);
  return known;
}

const LayerKindRegistry& layer_kinds() {
  static const LayerKindRegistry registry = [] {
    LayerKindRegistry r;
    register_layer_kinds(r);
    return r;
  }();
  return registry;
}

}  // namespace ocrcore::detail
