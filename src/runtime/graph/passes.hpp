#pragma once

#include "runtime/graph/compiled_network.hpp"

// Graph passes over a compiled network, run by compile_network after the
// layers are lowered: each op says through its Op interface what it can take
// over, so the passes know no layer kind.
namespace ocrcore::detail {

// Each per-channel scale-shift (a batch norm) is folded into the op before
// it; throws Error if that op cannot take it (validate() makes every batch
// norm follow a convolution).
void fold_scale_shifts(CompiledNetwork& network);

// Each ReLU is fused into the op before it where that op can take it (one
// memory pass less); the rest stay ops of their own.
void fuse_relus(CompiledNetwork& network);

}  // namespace ocrcore::detail
