#include "runtime/graph/passes.hpp"

#include "ocrcore/error.hpp"

namespace ocrcore::detail {

void fold_scale_shifts(CompiledNetwork& network) {
  auto& ops = network.ops;
  for (std::size_t i = 0; i < ops.size();) {
    const auto* map = op_as<ScaleShiftOp>(*ops[i]);
    if (!map) {
      ++i;
      continue;
    }
    if (i == 0 || !ops[i - 1]->fold_scale_shift(*map))
      throw Error("a batch norm follows no convolution it can fold into", ErrorKind::internal);
    ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void fuse_relus(CompiledNetwork& network) {
  auto& ops = network.ops;
  for (std::size_t i = 0; i < ops.size();) {
    if (i > 0 && op_as<ReluOp>(*ops[i]) && ops[i - 1]->fuse_relu())
      ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(i));
    else
      ++i;
  }
}

}  // namespace ocrcore::detail
