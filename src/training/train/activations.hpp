#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ocrcore::train {

// A batch flowing through a network in training: feature maps (NHWC, each
// line's valid width in `lengths`) or frame sequences (time-major
// [T][N][D], each line's frame count in `lengths`). Lines are padded to the
// widest; what a layer computes in the padding never reaches a line's result
// or gradients.
struct Activations {
  enum class Kind { maps, sequences };
  Kind kind = Kind::maps;
  int batch = 0;
  int channels = 0, height = 0, width = 0;  // maps
  int frames = 0, features = 0;             // sequences
  std::vector<float> values;
  std::vector<int> lengths;

  void resize_maps(int n, int c, int h, int w);
  void resize_sequences(int t, int n, int d);
  // Same kind and shape as `other` (lengths copied); values zeroed.
  void zeros_like(const Activations& other);
  std::size_t size() const { return values.size(); }
  float* map_row(int n, int y) {
    return values.data() + (static_cast<std::size_t>(n) * height + y) * width * channels;
  }
  float* frame(int t, int n) {
    return values.data() + (static_cast<std::size_t>(t) * batch + n) * features;
  }
  const float* frame(int t, int n) const {
    return values.data() + (static_cast<std::size_t>(t) * batch + n) * features;
  }
  // Maps: sets columns >= lengths[n] to `value`. Sequences: frames >= lengths[n].
  void fill_padding(float value);
};

// A trainable tensor (or a buffer such as batch-norm running statistics) with
// its gradient. `name` and `shape` are those of the model file.
struct Parameter {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> value;
  std::vector<float> grad;
  bool trainable = true;  // false for buffers, which the optimiser never touches
  bool frozen = false;    // excluded from updates by the user's choice

  Parameter() = default;
  Parameter(std::string n, std::vector<std::int64_t> dims, bool is_trainable = true);
  std::size_t numel() const { return value.size(); }
};

}  // namespace ocrcore::train
