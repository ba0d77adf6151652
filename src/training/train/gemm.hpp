#pragma once

#include <oneapi/dnnl/dnnl.h>

#include <string>

#include "ocrcore/error.hpp"

namespace ocrcore::train {

// Row-major C = alpha * op(A) * op(B) + beta * C through oneDNN's sgemm.
inline void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                 int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (beta == 0.0f)
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j)
          c[static_cast<long>(i) * ldc + j] = 0.0f;
    return;
  }
  const dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a,
                                      lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success) throw Error("oneDNN sgemm failed (status " + std::to_string(st) + ")");
}

}  // namespace ocrcore::train
