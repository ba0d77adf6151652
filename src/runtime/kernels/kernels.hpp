#pragma once

// ocrcore's own CPU kernels, one implementation per instruction set
// (generic/, avx2/, avx512/), chosen at run time through a KernelTable.
// Every kernel's generic version is plain C++ with libm functions; tests
// compare the vector versions against it and against double precision.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ocrcore/cpu.hpp"

namespace ocrcore::detail::kernels {

inline constexpr int kGatePadding = 64;

// Recurrent weights of one LSTM direction, transposed and blocked for the
// step kernel: column block j (kGatePadding gate columns) holds, for each k,
// W_hh[j * kGatePadding + c, k] for c in [0, kGatePadding) -- the gate
// pre-activations h[k] contributes to. Each block streams from memory in
// order, which matters at batch 1, where the step is bound by reading W_hh.
// Columns past 4N are zero, so vector loops need no tails.
struct PackedRecurrent {
  int hidden = 0;
  int padded = 0;           // round_up(4 * hidden, kGatePadding)
  std::vector<float> w;     // [padded / kGatePadding][hidden][kGatePadding]
  std::vector<float> bias;  // b_ih + b_hh, [padded]
  const float* block(int j) const {
    return w.data() + static_cast<std::size_t>(j) * hidden * kGatePadding;
  }
};
// Lines the step kernel processes at once; scratch is kStepLines * padded floats.
inline constexpr int kStepLines = 4;

// A matrix W [rows][k] quantised for integer products with uint8 vectors:
// each row r symmetric int8 with its own scale (W[r][k] ~ q[r][k] * s_r,
// s_r = max_k |W[r][k]| / 127), and a vector x quantised as round(x / s_x) +
// 128. Then
//   sum_k W[r][k] x[k] ~ (sum_k q[r][k] xq[k] - 128 * sum_k q[r][k]) * s_r * s_x,
// one integer dot product per row, which AVX-512 VNNI does 64 multiply-adds
// per instruction from a matrix a quarter the size of fp32's.
// Layout: blocks of kGatePadding rows, then groups of four k, then the
// block's rows, then the four k of the group: vpdpbusd's operand order. Rows
// past `rows` and k past `k` are zero.
struct PackedInt8Rows {
  int rows = 0;
  int k = 0;
  int padded = 0;                       // round_up(rows, kGatePadding)
  int k_groups = 0;                     // ceil(k / 4)
  std::vector<std::int8_t> w;           // [padded / kGatePadding][k_groups][kGatePadding][4]
  std::vector<float> scale;             // s_r (times a fixed s_x where the user has one), [padded]
  std::vector<std::int32_t> zero_term;  // 128 * sum_k q[r][k], [padded]
  const std::int8_t* block(int j) const {
    return w.data() + static_cast<std::size_t>(j) * k_groups * kGatePadding * 4;
  }
};
// `x_scale` multiplies every row's scale (a fixed input scale).
PackedInt8Rows pack_int8_rows(const float* w, int rows, int k, float x_scale = 1.0f);

// The recurrent weights quantised for the int8 step: W_hh's 4N rows as above,
// with h quantised every step at the fixed scale 1/127 (h = o * tanh(c) lies
// in [-1, 1]), so `scale` holds s_r / 127. 16 KB at hidden size 64: it stays
// in L1.
struct PackedRecurrentInt8 : PackedInt8Rows {
  int hidden = 0;
  std::vector<float> bias;  // b_ih + b_hh, [padded]
};
// Largest hidden size of the int8 step (its quantised h lives on the stack).
inline constexpr int kMaxInt8Hidden = 1024;

// As pack_recurrent; throws Error if hidden > kMaxInt8Hidden.
PackedRecurrentInt8 pack_recurrent_int8(const float* w_hh, const float* bias, int hidden);

// w_hh: [4N][N] as in the model file (gates i, f, g, o); bias: [4N] (b_ih +
// b_hh) or null for none.
PackedRecurrent pack_recurrent(const float* w_hh, const float* bias, int hidden);

// One time step of one LSTM direction for `lines` lines:
//   a = gates_in[b] + bias + W_hh h[b]      (gates_in: the input projection)
//   c[b] = sig(a_f) c[b] + sig(a_i) tanh(a_g);  h[b] = sig(a_o) tanh(c[b]);  y[b] = h[b]
// h and c are [lines][N], contiguous; gates_in and y rows are strided.
struct LstmStep {
  const PackedRecurrent* weights = nullptr;
  int lines = 0;
  const float* gates_in = nullptr;
  std::size_t gates_stride = 0;
  float* h = nullptr;
  float* c = nullptr;
  float* y = nullptr;
  std::size_t y_stride = 0;
  float* scratch = nullptr;  // kStepLines * weights->padded floats
  // Stream W_hh's column blocks last to first. Callers alternate this from
  // step to step: W_hh of hidden size 64 (64 KB) is larger than L1, and read
  // in the same order every step it misses on every line (LRU evicts each
  // line just before its next use); read back and forth, the blocks the
  // previous step read last are still in L1. Results are the same either way.
  bool reverse_columns = false;
  // For lstm_step_int8 instead of `weights` (scratch: kStepLines * padded floats).
  const PackedRecurrentInt8* weights_int8 = nullptr;
};

// 3x3 convolution of a one-channel image (stride 1, one pixel of zero
// padding that the caller supplies around the input) with bias and optional
// ReLU, optionally followed by 2x2 max pooling with stride 2: the first
// layer of a CRNN. oneDNN runs it far below peak (one input channel leaves a
// GEMM-shaped kernel nothing to reduce over), and fusing the pool saves
// writing and re-reading the layer's full-resolution output.
struct ImageConv {
  const float* input = nullptr;  // [rows in + 2][input_stride], zero border included
  std::size_t input_stride = 0;
  int out_cols = 0;                // output columns (after pooling)
  int row_begin = 0, row_end = 0;  // output rows (after pooling) this call writes
  int channels = 0;                // a multiple of 8
  const float* weights = nullptr;  // [9][channels], taps in row-major order
  const float* bias = nullptr;     // [channels]
  bool relu = false;
  bool pool = false;
  // Output element (c, y, x) at y * out_sy + x * out_sx + (c / out_block) *
  // out_sc + c % out_block; runs of 8 channels must be contiguous (out_block
  // a multiple of 8, or 1 with out_sc == 1).
  float* output = nullptr;
  std::size_t out_sy = 0, out_sx = 0, out_sc = 0;
  int out_block = 1;
};

// The LSTM's input projection with int8 weights (PackedInt8Rows, no bias):
// out[r][c] = sum_k x[r][k] W[c][k] for r < rows, c < weights->rows.
struct Int8Projection {
  const PackedInt8Rows* weights = nullptr;
  const float* x = nullptr;
  std::size_t x_stride = 0;
  int rows = 0;
  float* out = nullptr;
  std::size_t out_stride = 0;
};
// A dense layer's weights W [rows][k] with its bias, transposed for the
// dense kernel: for each k, W[r][k] of every output r, so that one input
// value broadcast meets whole vectors of outputs. Outputs past `rows` are
// zero, so vector loops need no tails on the weights.
inline constexpr int kDensePadding = 16;
struct PackedDense {
  int rows = 0;
  int k = 0;
  int padded = 0;           // round_up(rows, kDensePadding)
  std::vector<float> w;     // [k][padded]
  std::vector<float> bias;  // [padded]
};
// w: [rows][k] as in the model file; bias: [rows] or null for none.
PackedDense pack_dense(const float* w, const float* bias, int rows, int k);

// A dense layer's forward pass (the output layer):
// out[r][c] = bias[c] + sum_i x[r][i] W[c][i], then max(., 0) if relu, for
// r < rows and c < weights->rows (nothing past them is written).
struct DenseProjection {
  const PackedDense* weights = nullptr;
  const float* x = nullptr;
  std::size_t x_stride = 0;
  int rows = 0;
  float* out = nullptr;
  std::size_t out_stride = 0;
  bool relu = false;
};

// The per-row input scale and quantised row of the projection.
inline float projection_scale(const float* x, int k) {
  float max_abs = 0;
  for (int i = 0; i < k; ++i)
    max_abs = std::max(max_abs, std::abs(x[i]));
  return max_abs > 0 ? max_abs / 127.0f : 1.0f;
}
// round(x * scale) clamped to [lo, hi], plus offset, as a byte. (fmin/fmax,
// not clamp: a NaN from a broken model maps to lo instead of an undefined
// conversion, as the vector kernels' min/max do.)
inline std::uint8_t quantize_to_byte(float x, float scale, float lo, float hi, int offset) {
  const float q = std::nearbyint(std::fmin(std::fmax(x * scale, lo), hi));
  return static_cast<std::uint8_t>(static_cast<int>(q) + offset);
}
// An int8 LSTM input: [-127, 127] stored with offset 128. The int8 step
// quantises h as quantize_input(h, 127).
inline std::uint8_t quantize_input(float x, float inverse_scale) {
  return quantize_to_byte(x, inverse_scale, -127.0f, 127.0f, 128);
}

struct KernelTable {
  Isa isa = Isa::generic;
  void (*lstm_step)(const LstmStep& step) = nullptr;
  // The step on PackedRecurrentInt8 weights; null where the instruction set
  // has no fast integer dot product (the generic one is the reference).
  void (*lstm_step_int8)(const LstmStep& step) = nullptr;
  // out = in - log(sum(exp(in))) over n values (in == out allowed).
  void (*log_softmax)(const float* in, float* out, int n) = nullptr;
  // The largest of 0 and x[0..n), NaNs ignored: an int8 convolution's input scale.
  float (*largest)(const float* x, std::size_t n) = nullptr;
  // An int8 convolution's input: q[i] = round(x[i] * scale) (to nearest even)
  // in [0, 255], NaN to 0. AVX-512 and the generic reference only (the
  // engine uses oneDNN's reorder on other paths).
  void (*quantize_u8)(const float* x, std::size_t n, float scale, std::uint8_t* q) = nullptr;
  // center_text's vertical resampling of one output column when shrinking
  // (step > 1): out[oy * out_stride], oy < H, is the mean of `column` (h
  // source rows) over [start + oy * step, start + (oy + 1) * step), rows
  // outside [0, h) counting as 0.
  void (*area_column)(const float* column, int h, double start, double step, int H, float* out,
                      std::size_t out_stride) = nullptr;
  // An int8 convolution's output, channels innermost: for each of `pixels`
  // runs of `channels` values, x = x * step + bias[c], then max(x, 0) if relu.
  void (*scale_bias_relu)(float* x, std::size_t pixels, int channels, float step, const float* bias,
                          bool relu) = nullptr;
  void (*image_conv)(const ImageConv& conv) = nullptr;
  // out = x W^T for `rows` rows of x with the weights in int8, each row of x
  // quantised on its own (s_x = max |x| / 127); null as lstm_step_int8.
  void (*int8_projection)(const Int8Projection& p) = nullptr;
  // See DenseProjection. Ours rather than an sgemm call: oneDNN's sgemm
  // generates its kernels on first use, about 50 ms of every process's
  // start-up, for a layer this kernel runs at full speed.
  void (*dense)(const DenseProjection& p) = nullptr;
  // Element-wise over n values (in == out allowed); exposed for the accuracy tests.
  void (*exp)(const float* in, float* out, std::size_t n) = nullptr;
  void (*sigmoid)(const float* in, float* out, std::size_t n) = nullptr;
  void (*tanh)(const float* in, float* out, std::size_t n) = nullptr;
};

// `isa` must be resolved (not automatic) and supported by this CPU.
const KernelTable& kernel_table(Isa isa);

// AVX-512 with VNNI's int8 dot products (vpdpbusd), usable by this process.
bool cpu_has_avx512_vnni();
// AVX-512 with BF16 dot products (vdpbf16ps), usable by this process.
bool cpu_has_avx512_bf16();

// Defined in the per-instruction-set sources.
const KernelTable& generic_kernels();
const KernelTable& avx2_kernels();
const KernelTable& avx512_kernels();

}  // namespace ocrcore::detail::kernels
