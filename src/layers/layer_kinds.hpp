#pragma once

// Every layer kind's traits: the registry that goes with LayerSpec's list of
// alternatives (include/ocrcore/architecture.hpp). A new kind adds its
// alternative there, its directory under src/layers/ and its include here.
#include "layers/batch_norm/batch_norm.hpp"
#include "layers/collapse/collapse.hpp"
#include "layers/conv2d/conv2d.hpp"
#include "layers/dropout/dropout.hpp"
#include "layers/layer_kind.hpp"
#include "layers/linear/linear.hpp"
#include "layers/lstm/lstm.hpp"
#include "layers/max_pool/max_pool.hpp"
#include "layers/relu/relu.hpp"
#include "layers/tucker_conv/tucker_conv.hpp"

namespace ocrcore::detail {

// Calls f(spec, LayerKind<Spec>{}) with the layer's spec and its traits.
template <class F>
decltype(auto) visit_layer_kind(const LayerSpec& layer, F&& f) {
  return std::visit(
      [&](const auto& spec) -> decltype(auto) {
        return f(spec, LayerKind<std::decay_t<decltype(spec)>>{});
      },
      layer);
}

}  // namespace ocrcore::detail
