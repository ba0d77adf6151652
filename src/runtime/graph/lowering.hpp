#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ocrcore/tensor.hpp"
#include "runtime/graph/compiled_network.hpp"

namespace ocrcore::detail {

// The network being compiled, as each layer kind's lower() sees it
// (LayerKind<Spec>::lower in src/layers/<kind>/): it appends its ops (the
// graph passes then fold and fuse them). Each tensor's values are taken over,
// so a loaded model holds its weights once.
class Lowering {
 public:
  Lowering(CompiledNetwork& network, TensorMap& tensors) : network_(network), tensors_(tensors) {}

  // The values of tensor `name` (the loader checked that every required one is there).
  std::vector<float> take(const std::string& name) { return std::move(tensors_.at(name).data); }
  const std::vector<float>& values(const std::string& name) const { return tensors_.at(name).data; }
  template <class SomeOp>
  void add(SomeOp&& op) {
    network_.ops.push_back(std::make_unique<std::decay_t<SomeOp>>(std::forward<SomeOp>(op)));
  }

 private:
  CompiledNetwork& network_;
  TensorMap& tensors_;
};

}  // namespace ocrcore::detail
