#include "layers/layer_registry.hpp"
#include "layers/max_pool/max_pool.hpp"
#include "layers/max_pool/max_pool_op.hpp"
#include "runtime/graph/lowering.hpp"

namespace ocrcore::detail {

MaxPoolSpec LayerKind<MaxPoolSpec>::parse(FieldReader& f) {
  MaxPoolSpec s;
  std::tie(s.kernel_h, s.kernel_w) = f.pair("kernel_size", std::nullopt, 1);
  std::tie(s.stride_h, s.stride_w) = f.pair("stride", std::pair{s.kernel_h, s.kernel_w}, 1);
  std::tie(s.pad_h, s.pad_w) = f.pair("padding", std::pair{0, 0}, 0);
  s.ceil_mode = f.boolean("ceil_mode", false);
  if (2 * s.pad_h > s.kernel_h || 2 * s.pad_w > s.kernel_w)
    f.fail("padding must be at most half the kernel size");
  return s;
}

void LayerKind<MaxPoolSpec>::write(const MaxPoolSpec& s, json& j) {
  j["kernel_size"] = {s.kernel_h, s.kernel_w};
  j["stride"] = {s.stride_h, s.stride_w};
  j["padding"] = {s.pad_h, s.pad_w};
  j["ceil_mode"] = s.ceil_mode;
}

void LayerKind<MaxPoolSpec>::lower(const MaxPoolSpec& s, Lowering& l) {
  l.add(PoolOp{s.kernel_h, s.kernel_w, s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.ceil_mode});
}

void register_max_pool_layer(LayerKindRegistry& registry) {
  registry.add<MaxPoolSpec>();
}

}  // namespace ocrcore::detail
