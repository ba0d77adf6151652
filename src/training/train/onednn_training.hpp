#pragma once

#include <oneapi/dnnl/dnnl.hpp>

// What the layers trained on oneDNN primitives (convolution, max pooling)
// share.
namespace ocrcore::train {

// The CPU engine every training primitive runs on.
inline dnnl::engine& training_cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

}  // namespace ocrcore::train
