#pragma once

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "nn/compiled_network.hpp"
#include "ocrcore/tensor.hpp"

namespace ocrcore::detail {

// The network being compiled, as each layer kind's lower() sees it
// (LayerKind<Spec>::lower in src/layers/<kind>/): it appends its ops, or
// folds itself into the op before it. Each tensor's values are taken over,
// so a loaded model holds its weights once.
class Lowering {
 public:
  Lowering(CompiledNetwork& network, TensorMap& tensors) : network_(network), tensors_(tensors) {}

  // The values of tensor `name` (the loader checked that every required one is there).
  std::vector<float> take(const std::string& name) { return std::move(tensors_.at(name).data); }
  const std::vector<float>& values(const std::string& name) const { return tensors_.at(name).data; }
  template <class SomeOp>
  void add(SomeOp&& op) {
    network_.ops.emplace_back(std::in_place_type<std::decay_t<SomeOp>>, std::forward<SomeOp>(op));
  }
  // The last op added; nullptr before the first.
  Op* last() { return network_.ops.empty() ? nullptr : &network_.ops.back(); }

 private:
  CompiledNetwork& network_;
  TensorMap& tensors_;
};

// A convolution op: `bias` empty means zeros.
ConvOp make_conv_op(int in_channels, int out_channels, int kernel_h, int kernel_w, int stride_h,
                    int stride_w, int pad_h, int pad_w, std::vector<float> weight,
                    std::vector<float> bias);

}  // namespace ocrcore::detail
