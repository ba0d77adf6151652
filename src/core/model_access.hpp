#pragma once

#include "nn/compiled_network.hpp"
#include "ocrcore/model.hpp"

namespace ocrcore {

// What the library (and its tests and benchmarks) reads of a Model beyond the
// public API: the network compiled for the engines.
struct ModelAccess {
  static const detail::CompiledNetwork& network(const Model& model);
};

}  // namespace ocrcore
