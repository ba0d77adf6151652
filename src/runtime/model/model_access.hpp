#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "ocrcore/model.hpp"
#include "runtime/engines/engine.hpp"
#include "runtime/graph/compiled_network.hpp"

namespace ocrcore {

// What the library (and its tests and benchmarks) reads of a Model beyond the
// public API: the network compiled for the engines, and the prepared forms
// engines keep with the model.
struct ModelAccess {
  static const detail::CompiledNetwork& network(const Model& model);
  // The prepared form stored under `key`, made by `make` on first use (once,
  // also when several threads ask at the same time).
  static std::shared_ptr<const detail::PreparedWeights> prepared(
      const Model& model, const std::string& key,
      const std::function<std::shared_ptr<const detail::PreparedWeights>()>& make);
  // Bytes of every prepared form the model holds.
  static std::size_t prepared_bytes(const Model& model);
};

}  // namespace ocrcore
