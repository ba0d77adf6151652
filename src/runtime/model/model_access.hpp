#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
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
  // A model from the bytes of a model file (copied): for training's ranks,
  // which get the root's files through MPI rather than a shared file system.
  // Errors name `source` as Model::load's name the path.
  static std::shared_ptr<const Model> load_from_bytes(std::span<const std::uint8_t> bytes,
                                                      const std::string& source);
};

}  // namespace ocrcore
