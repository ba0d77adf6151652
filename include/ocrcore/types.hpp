#pragma once

// The small types every part of ocrcore speaks: what a network produces
// (LogProbs), what a line reads as (LineResult), and the option enums of
// RecognizerOptions. At the bottom of the include order: it includes nothing
// of ocrcore's but export.hpp, so kernels, the decoder and the engines use
// these without seeing the Recognizer.

#include <cstddef>
#include <string>
#include <vector>

#include "ocrcore/export.hpp"

namespace ocrcore {

enum class Decoder { greedy, beam };
// reference: plain loops, one line at a time, the oracle for every fast path.
// onednn: batched, oneDNN primitives and our own kernels.
enum class Backend { reference, onednn };

// How the onednn backend runs 3x3 convolutions. Winograd (oneDNN's F(2x2,3x3)
// and F(4x4,3x3) kernels) does 2.25-4x fewer multiplications than direct
// convolution, at the cost of transforms, rounding errors around 1e-6
// relative, and weights stored about four times larger. automatic chooses per
// layer from its shape (measured rules, src/runtime/engines/onednn/tuning.hpp).
enum class ConvAlgorithm { automatic, direct, winograd };
// How the onednn backend runs Tucker-2 layers: as their chain of three
// convolutions, or composed back into the one convolution they approximate
// (more multiply-adds, sometimes faster). automatic chooses per layer.
enum class TuckerExecution { automatic, chain, composed };

// Arithmetic of a part of the network, or how a model file stores weights.
//   LSTMs, int8: the input and recurrent matrices quantised per gate row when
//   the model is prepared, each frame's input and the hidden state per step,
//   integer dot products (AVX-512 VNNI, or the generic path); the cell stays
//   fp32. About 2x faster DBLSTM.
//   Convolutions, int8: weights quantised per output channel when the model is
//   prepared; each convolution's input (a ReLU's output, so >= 0) quantised to
//   uint8 with a scale from its largest value in the batch; oneDNN's int8
//   convolutions (AVX-512 VNNI only). The image layer and convolutions whose
//   input can be negative (inside Tucker chains) stay fp32.
//   Convolutions, bf16: weights and each convolution's input rounded to
//   bfloat16 (8 bits of mantissa), products summed in fp32 by oneDNN's bf16
//   kernels (AVX-512 BF16 only); every convolution but the image layer. About
//   2x faster than fp32, half as fast as int8, and closer to fp32 than int8.
//   There is no bf16 LSTM: lstm_precision bf16 is refused.
// What each costs in accuracy is measured in README.md (Benchmarks).
enum class Precision { fp32, int8, bf16 };

// Lines that are not upright (turned by 90, 180 or 270 degrees: a rotated
// table header, a figure label, a page scanned upside down). automatic: a
// line whose reading the network doubts (its characters' mean confidence
// below 0.93) is read turned as well, by a quarter turn either way when the
// image is taller than wide, else by a half turn, and the turned reading is
// kept when the network is sure of it (LineResult::rotation says which
// turn); upright: every line is read as given.
enum class Orientation { automatic, upright };

// Per-frame log-posteriors of one line: frames x classes, row-major.
struct LogProbs {
  int frames = 0;
  int classes = 0;
  std::vector<float> values;
  const float* frame(int t) const { return values.data() + static_cast<std::size_t>(t) * classes; }
};

struct CharResult {
  std::string text;         // one alphabet entry (UTF-8)
  float confidence = 0.0f;  // peak posterior of this character over its frames
  int frame_begin = 0;      // frames [frame_begin, frame_end) emit it
  int frame_end = 0;
  int x_begin = 0;  // columns [x_begin, x_end) of the source image
  int x_end = 0;
};

struct LineResult {
  std::string text;
  float confidence = 0.0f;  // P(text | image) under the CTC model
  std::vector<CharResult> chars;
  // Degrees (0, 90, 180 or 270) the image was turned clockwise to read it
  // (Orientation::automatic); the characters' columns are the turned image's.
  int rotation = 0;
};

}  // namespace ocrcore
