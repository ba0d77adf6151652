#pragma once

// Every layer kind the runtime knows, found by its JSON type name. The list
// is made by CMake from one line per kind (src/layers/kinds.cmake): each
// kind's <kind>_spec.cpp defines register_<kind>_layer(), and the generated
// register_layer_kinds() calls them all, so the architecture code includes no
// kind.

#include <string>
#include <string_view>
#include <vector>

#include "layers/layer_kind.hpp"

namespace ocrcore::detail {

class LayerKindRegistry {
 public:
  using Parse = LayerSpec (*)(FieldReader& fields);
  struct Entry {
    std::string_view type;
    Parse parse;
  };

  template <class Spec>
  void add() {
    add({LayerKind<Spec>::type_name,
         [](FieldReader& f) { return LayerSpec(LayerKind<Spec>::parse(f)); }});
  }
  void add(Entry entry);

  // nullptr for a type no kind has.
  const Entry* find(std::string_view type) const;
  // "conv2d, tucker_conv, ...": for error messages.
  std::string known_types() const;
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// The registry of every kind, made on first use.
const LayerKindRegistry& layer_kinds();

// The index of the first layer whose input is a frame sequence (the layer
// after the collapse); -1 if there is none.
int first_sequence_layer(const Architecture& architecture);

// Generated (src/layers/kinds.cmake): registers every kind's layer.
void register_layer_kinds(LayerKindRegistry& registry);

}  // namespace ocrcore::detail
