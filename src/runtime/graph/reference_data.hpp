#pragma once

#include <vector>

namespace ocrcore::detail {

// What the plain-loop reference layers (src/layers/<kind>/<kind>_reference.cpp)
// pass between them: one line at a time, sums accumulated in double so that
// the oracle is more accurate than what it checks.

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

}  // namespace ocrcore::detail
