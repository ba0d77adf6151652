// AVX-512 kernels (this file is compiled with -mavx512f -mavx512dq -mavx512bw
// -mavx512vl -mfma).

#include <immintrin.h>

#include <cstring>
#include <vector>

#include "runtime/kernels/simd_kernels.hpp"

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

// One group of four k for LB lines: a[l][v] += q[cols of v][k..k+3] . hq[l][k..k+3].
template <int LB, int VB>
__attribute__((target("avx512vnni"), always_inline)) inline void dot_group(__m512i (&a)[LB][VB],
                                                                           const std::int8_t* row,
                                                                           const std::uint8_t* hq,
                                                                           std::size_t hq_stride) {
  __m512i wv[VB];
  for (int v = 0; v < VB; ++v)
    wv[v] = _mm512_loadu_si512(row + v * 64);
  for (int l = 0; l < LB; ++l) {
    std::int32_t four;
    std::memcpy(&four, hq + l * hq_stride, 4);
    const __m512i hb = _mm512_set1_epi32(four);
    for (int v = 0; v < VB; ++v)
      a[l][v] = _mm512_dpbusd_epi32(a[l][v], hb, wv[v]);
  }
}

// Integer products of LB quantised vectors (hq, hq_stride bytes apart) with
// every row of `w`: each block of kGatePadding rows gets four accumulator
// vectors per vector, gathering q[r][k..k+3] * hq[k..k+3] per vpdpbusd, KS
// independent sets of them keeping enough chains in flight for one vector
// (as recurrent_product). store(l, first row, sums - zero terms) takes each
// 16 rows' results.
template <int LB, int KS, class Store>
__attribute__((target("avx512vnni"))) void int8_product(const PackedInt8Rows& w,
                                                        const std::uint8_t* hq,
                                                        std::size_t hq_stride, bool reverse,
                                                        Store store) {
  constexpr int VB = kGatePadding / 16;
  const int blocks = w.padded / kGatePadding;
  for (int q = 0; q < blocks; ++q) {
    const int j = reverse ? blocks - 1 - q : q;
    const std::int8_t* block = w.block(j);
    __m512i a[KS][LB][VB];
    for (int ks = 0; ks < KS; ++ks)
      for (int l = 0; l < LB; ++l)
        for (int v = 0; v < VB; ++v)
          a[ks][l][v] = _mm512_setzero_si512();
    auto row = [&](int g) { return block + static_cast<std::size_t>(g) * kGatePadding * 4; };
    int g = 0;
    for (; g + KS <= w.k_groups; g += KS)
#pragma GCC unroll 4
      for (int ks = 0; ks < KS; ++ks)
        dot_group<LB, VB>(a[ks], row(g + ks), hq + 4 * (g + ks), hq_stride);
    for (; g < w.k_groups; ++g)
      dot_group<LB, VB>(a[0], row(g), hq + 4 * g, hq_stride);
    const int c0 = j * kGatePadding;
    for (int l = 0; l < LB; ++l)
      for (int v = 0; v < VB; ++v) {
        __m512i sum = a[0][l][v];
        for (int ks = 1; ks < KS; ++ks)
          sum = _mm512_add_epi32(sum, a[ks][l][v]);
        const int col = c0 + v * 16;
        store(l, col, _mm512_sub_epi32(sum, _mm512_loadu_si512(w.zero_term.data() + col)));
      }
  }
}

// The int8 step's recurrent product: acc[l][r] = sums * scale[r] + bias[r].
template <int LB, int KS>
void recurrent_product_int8(const PackedRecurrentInt8& w, const std::uint8_t* hq, float* acc,
                            bool reverse) {
  int8_product<LB, KS>(
      w, hq, static_cast<std::size_t>(w.k_groups) * 4, reverse, [&](int l, int col, __m512i sum) {
        const __m512 value =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_loadu_ps(w.scale.data() + col),
                            _mm512_loadu_ps(w.bias.data() + col));
        _mm512_storeu_ps(acc + static_cast<std::size_t>(l) * w.padded + col, value);
      });
}

// out[i] = quantize_to_byte(in[i], scale, lo, hi, offset) for i < n, the
// same operations in the same order (round to nearest even), 16 at a time.
void quantize_bytes(const float* in, std::size_t n, float scale, float lo, float hi, int offset,
                    std::uint8_t* out) {
  const __m512 s = _mm512_set1_ps(scale), vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  const __m512i voffset = _mm512_set1_epi32(offset);
  std::size_t k = 0;
  for (; k + 16 <= n; k += 16) {
    // max_ps returns its second operand for a NaN, as fmax does here.
    const __m512 x =
        _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_loadu_ps(in + k), s), vlo), vhi);
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(x), voffset);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k), _mm512_cvtepi32_epi8(q));
  }
  for (; k < n; ++k)
    out[k] = quantize_to_byte(in[k], scale, lo, hi, offset);
}

// out[i] = quantize_input(in[i], inverse) for i < n.
void quantize_row(const float* in, int n, float inverse, std::uint8_t* out) {
  quantize_bytes(in, static_cast<std::size_t>(n), inverse, -127.0f, 127.0f, 128, out);
}

// Largest |x[i]|, i < k, as projection_scale computes it.
float projection_scale_avx512(const float* x, int k) {
  __m512 m = _mm512_setzero_ps();
  int i = 0;
  for (; i + 16 <= k; i += 16)
    m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i)), m);
  float max_abs = _mm512_reduce_max_ps(m);
  for (; i < k; ++i)
    max_abs = std::max(max_abs, std::abs(x[i]));
  return max_abs > 0 ? max_abs / 127.0f : 1.0f;
}

// h of `lines` lines to uint8 (quantize_input(h, 127)), k_groups * 4 bytes per line.
void quantize_lines(const float* h, int N, int lines, std::uint8_t* hq, std::size_t stride) {
  for (int l = 0; l < lines; ++l) {
    std::uint8_t* out = hq + l * stride;
    quantize_row(h + static_cast<std::size_t>(l) * N, N, 127.0f, out);
    std::fill(out + N, out + stride, std::uint8_t{128});
  }
}

__attribute__((target("avx512vnni"))) void lstm_step_int8(const LstmStep& s) {
  const PackedRecurrentInt8& w = *s.weights_int8;
  const int N = w.hidden;
  const std::size_t stride = static_cast<std::size_t>(w.k_groups) * 4;
  alignas(64) std::uint8_t hq[kStepLines * kMaxInt8Hidden];
  int b = 0;
  while (b < s.lines) {
    const int lines = std::min(kStepLines, s.lines - b);
    quantize_lines(s.h + static_cast<std::size_t>(b) * N, N, lines, hq, stride);
    switch (lines) {
      case 4:
        recurrent_product_int8<4, 1>(w, hq, s.scratch, s.reverse_columns);
        break;
      case 3:
        recurrent_product_int8<3, 1>(w, hq, s.scratch, s.reverse_columns);
        break;
      case 2:
        recurrent_product_int8<2, 2>(w, hq, s.scratch, s.reverse_columns);
        break;
      default:
        recurrent_product_int8<1, 4>(w, hq, s.scratch, s.reverse_columns);
        break;
    }
    for (int l = 0; l < lines; ++l, ++b)
      simd::lstm_cell<Avx512>(s.gates_in + b * s.gates_stride,
                              s.scratch + static_cast<std::size_t>(l) * w.padded, N,
                              s.c + static_cast<std::size_t>(b) * N,
                              s.h + static_cast<std::size_t>(b) * N, s.y + b * s.y_stride);
  }
}

// LB rows of the projection: out[l][c] = sums * (scale[c] * sx[l]), only the
// weights' rows written.
template <int LB>
void project_rows(const Int8Projection& p, const std::uint8_t* xq, std::size_t xq_stride,
                  const float* sx, float* out) {
  const PackedInt8Rows& w = *p.weights;
  int8_product<LB, 1>(w, xq, xq_stride, false, [&](int l, int col, __m512i sum) {
    const __m512 value =
        _mm512_mul_ps(_mm512_cvtepi32_ps(sum),
                      _mm512_mul_ps(_mm512_loadu_ps(w.scale.data() + col), _mm512_set1_ps(sx[l])));
    const int left = w.rows - col;  // rows of this vector that exist
    if (left <= 0) return;
    const __mmask16 mask = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
    _mm512_mask_storeu_ps(out + l * p.out_stride + col, mask, value);
  });
}

void int8_projection(const Int8Projection& p) {
  const PackedInt8Rows& w = *p.weights;
  const std::size_t stride = static_cast<std::size_t>(w.k_groups) * 4;
  std::vector<std::uint8_t> xq(stride * 4, 128);
  float sx[4];
  for (int r0 = 0; r0 < p.rows; r0 += 4) {
    const int n = std::min(4, p.rows - r0);
    for (int l = 0; l < n; ++l) {
      const float* x = p.x + (r0 + l) * p.x_stride;
      sx[l] = projection_scale_avx512(x, w.k);
      quantize_row(x, w.k, 1.0f / sx[l], xq.data() + l * stride);
    }
    float* out = p.out + r0 * p.out_stride;
    switch (n) {
      case 4:
        project_rows<4>(p, xq.data(), stride, sx, out);
        break;
      case 3:
        project_rows<3>(p, xq.data(), stride, sx, out);
        break;
      case 2:
        project_rows<2>(p, xq.data(), stride, sx, out);
        break;
      default:
        project_rows<1>(p, xq.data(), stride, sx, out);
        break;
    }
  }
}

}  // namespace

void quantize_u8(const float* x, std::size_t n, float scale, std::uint8_t* q) {
  quantize_bytes(x, n, scale, 0.0f, 255.0f, 0, q);
}

void scale_bias_relu(float* x, std::size_t pixels, int channels, float step, const float* bias,
                     bool relu) {
  const __m512 s = _mm512_set1_ps(step), zero = _mm512_setzero_ps();
  for (std::size_t p = 0; p < pixels; ++p, x += channels)
    for (int c = 0; c < channels; c += 16) {
      const int left = channels - c;
      const __mmask16 m = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
      // The same rounding as x * step + bias in the generic kernel (no fused multiply-add).
      __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + c), s),
                               _mm512_maskz_loadu_ps(m, bias + c));
      if (relu) v = _mm512_max_ps(v, zero);
      _mm512_mask_storeu_ps(x + c, m, v);
    }
}

// area_column, eight outputs at a time: positions and weights in double as
// in the generic kernel, the rows gathered, sums in double (so within float
// rounding of the generic kernel's float sums).
void area_column(const float* column, int h, double start, double step, int H, float* out,
                 std::size_t out_stride) {
  const int taps = static_cast<int>(std::floor(step)) + 2;
  const __m512d vstep = _mm512_set1_pd(step), vinverse = _mm512_set1_pd(1.0 / step),
                vstart = _mm512_set1_pd(start), zero = _mm512_setzero_pd(),
                one = _mm512_set1_pd(1.0), rows = _mm512_set1_pd(h),
                lane = _mm512_set_pd(7, 6, 5, 4, 3, 2, 1, 0);
  for (int oy0 = 0; oy0 < H; oy0 += 8) {
    const int n = std::min(8, H - oy0);
    const __m512d lo = _mm512_fmadd_pd(_mm512_add_pd(_mm512_set1_pd(oy0), lane), vstep, vstart);
    const __m512d hi = _mm512_add_pd(lo, vstep);
    __m512d row = _mm512_roundscale_pd(lo, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512d acc = zero;
    for (int k = 0; k < taps; ++k, row = _mm512_add_pd(row, one)) {
      const __m512d w = _mm512_max_pd(
          zero, _mm512_sub_pd(_mm512_min_pd(hi, _mm512_add_pd(row, one)), _mm512_max_pd(lo, row)));
      const __mmask8 inside =
          _mm512_mask_cmp_pd_mask(_mm512_cmp_pd_mask(row, zero, _CMP_GE_OQ), row, rows, _CMP_LT_OQ);
      const __m256i index = _mm512_cvttpd_epi32(_mm512_maskz_mov_pd(inside, row));
      // Rows outside the column gather 0 and add nothing.
      const __m256 v = _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), inside, index, column, 4);
      acc = _mm512_fmadd_pd(_mm512_mul_pd(w, vinverse), _mm512_cvtps_pd(v), acc);
    }
    alignas(32) float result[8];
    _mm256_store_ps(result, _mm512_cvtpd_ps(acc));
    for (int l = 0; l < n; ++l)
      out[static_cast<std::size_t>(oy0 + l) * out_stride] = result[l];
  }
}

const KernelTable& avx512_kernels() {
  // 4 lines x 4 vectors of accumulators + 4 weight vectors: 20 of 32 zmm.
  static const KernelTable table = [] {
    KernelTable t = simd::make_table<Avx512, 4>(Isa::avx512);
    t.image_conv = image_conv;
    t.quantize_u8 = quantize_u8;
    t.scale_bias_relu = scale_bias_relu;
    t.area_column = area_column;
    if (cpu_has_avx512_vnni()) {
      t.lstm_step_int8 = lstm_step_int8;
      t.int8_projection = int8_projection;
    }
    return t;
  }();
  return table;
}

}  // namespace ocrcore::detail::kernels
