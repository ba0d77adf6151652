#pragma once

#include <vector>

#include "nn/compiled_network.hpp"
#include "nn/quantization.hpp"

namespace ocrcore::detail {

// Plain-loop layer implementations for one line at a time: the oracle that
// every optimised path is tested against. Sums are accumulated in double so the
// oracle is more accurate than what it checks.

// One line's feature map, channels x height x width, row-major.
struct FeatureMap {
  int channels = 0, height = 0, width = 0;
  std::vector<float> values;
  FeatureMap() = default;
  FeatureMap(int c, int h, int w)
      : channels(c), height(h), width(w), values(static_cast<std::size_t>(c) * h * w, 0.0f) {}
  float& at(int c, int y, int x) {
    return values[(static_cast<std::size_t>(c) * height + y) * width + x];
  }
  float at(int c, int y, int x) const {
    return values[(static_cast<std::size_t>(c) * height + y) * width + x];
  }
};

// One line's frame sequence, frames x features, row-major.
struct Sequence {
  int frames = 0, features = 0;
  std::vector<float> values;
  Sequence() = default;
  Sequence(int t, int d) : frames(t), features(d), values(static_cast<std::size_t>(t) * d, 0.0f) {}
  float* row(int t) { return values.data() + static_cast<std::size_t>(t) * features; }
  const float* row(int t) const { return values.data() + static_cast<std::size_t>(t) * features; }
};

// Cross-correlation with zero padding, bias, optional ReLU (PyTorch Conv2d).
FeatureMap conv2d_reference(const FeatureMap& in, const ConvOp& op);
// conv2d_reference in int8 arithmetic (RecognizerOptions::conv_precision):
// the input (>= 0) quantised to uint8 with int8_input_scale of its largest
// value, the weights as given, integer sums, then
// relu(sum / input_scale * weights.scale[oc] + bias).
FeatureMap conv2d_int8_reference(const FeatureMap& in, const ConvOp& op, const Int8Rows& weights);
// conv2d_reference in bf16 arithmetic: the input and the weights rounded to
// bfloat16 (to nearest even, core/bfloat16.hpp), the sums and the bias in
// full precision.
FeatureMap conv2d_bf16_reference(const FeatureMap& in, const ConvOp& op);
// Max over each window; padding and the ceil-mode overhang never win.
FeatureMap maxpool_reference(const FeatureMap& in, const PoolOp& op);
void relu_reference(std::vector<float>& values);
// Frame t = column t, feature index c * height + y.
Sequence collapse_reference(const FeatureMap& in);
// Stacked (bi)directional LSTM, PyTorch semantics, gate order i, f, g, o;
// output per frame [forward h ; backward h].
Sequence lstm_reference(const Sequence& in, const LstmOp& op);
Sequence linear_reference(const Sequence& in, const LinearOp& op);
void log_softmax_reference(Sequence& s);

}  // namespace ocrcore::detail
