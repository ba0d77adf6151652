// AVX-512 kernels (this file is compiled with -mavx512f -mavx512dq -mavx512bw
// -mavx512vl -mfma).

#include <immintrin.h>

#include "kernels/simd_kernels.hpp"

namespace ocrcore::detail::kernels {

namespace {

struct Avx512 {
  using V = __m512;
  using M = __mmask16;
  static constexpr int width = 16;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V zero() { return _mm512_setzero_ps(); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
  static V neg(V a) { return _mm512_xor_ps(a, _mm512_set1_ps(-0.0f)); }
  static V abs(V a) { return _mm512_abs_ps(a); }
  static V copy_sign(V mag, V sign) {
    const V s = _mm512_set1_ps(-0.0f);
    return _mm512_or_ps(_mm512_andnot_ps(s, mag), _mm512_and_ps(s, sign));
  }
  static V round(V a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static V pow2(V n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static M less(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static V select(M m, V if_true, V if_false) { return _mm512_mask_blend_ps(m, if_false, if_true); }
  static float reduce_add(V v) { return _mm512_reduce_add_ps(v); }
  static float reduce_max(V v) { return _mm512_reduce_max_ps(v); }
};

// 16 channels per vector where the channels and the output blocking allow,
// otherwise the AVX2 kernel's 8 (every AVX-512 CPU has AVX2).
void image_conv(const ImageConv& a) {
  if (a.channels % 16 == 0 && (a.out_block == 1 || a.out_block % 16 == 0))
    simd::image_conv<Avx512>(a);
  else
    avx2_kernels().image_conv(a);
}

}  // namespace

const KernelTable& avx512_kernels() {
  // 4 lines x 4 vectors of accumulators + 4 weight vectors: 20 of 32 zmm.
  static const KernelTable table = [] {
    KernelTable t = simd::make_table<Avx512, 4>(Isa::avx512);
    t.image_conv = image_conv;
    return t;
  }();
  return table;
}

}  // namespace ocrcore::detail::kernels
