#include "runtime/graph/compiled_network.hpp"

#include <cmath>

#include "layers/layer_kind.hpp"
#include "ocrcore/error.hpp"
#include "runtime/graph/lowering.hpp"
#include "runtime/graph/passes.hpp"
#include "runtime/graph/quantization.hpp"

namespace ocrcore::detail {

Int8Rows Op::int8_weights() const {
  throw Error(describe() + " has no int8 weights", ErrorKind::internal);
}

CompiledNetwork compile_network(const Architecture& a, const TensorMap& t) {
  return compile_network(a, TensorMap(t));
}

CompiledNetwork compile_network(const Architecture& a, TensorMap&& t) {
  CompiledNetwork net;
  net.input_height = a.input_height;
  net.num_classes = a.validate();
  Lowering lowering(net, t);
  for (const auto& layer : a.layers)
    layer.impl().lower(lowering);
  fold_scale_shifts(net);
  fuse_relus(net);
  int w = 1;
  while (a.frames_for_width(w) < 1) {
    if (++w > 1 << 16)
      throw Error("architecture: no input width gives an output frame", ErrorKind::bad_model);
  }
  net.min_width = w;
  return net;
}

}  // namespace ocrcore::detail
