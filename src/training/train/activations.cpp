#include "training/train/activations.hpp"

#include <algorithm>
#include <functional>
#include <numeric>

namespace ocrcore::train {

void Activations::resize_maps(int n, int c, int h, int w) {
  kind = Kind::maps;
  batch = n, channels = c, height = h, width = w;
  frames = features = 0;
  values.resize(static_cast<std::size_t>(n) * c * h * w);
  lengths.resize(static_cast<std::size_t>(n));
}

void Activations::resize_sequences(int t, int n, int d) {
  kind = Kind::sequences;
  batch = n, frames = t, features = d;
  channels = height = width = 0;
  values.resize(static_cast<std::size_t>(t) * n * d);
  lengths.resize(static_cast<std::size_t>(n));
}

void Activations::zeros_like(const Activations& other) {
  if (other.kind == Kind::maps)
    resize_maps(other.batch, other.channels, other.height, other.width);
  else
    resize_sequences(other.frames, other.batch, other.features);
  lengths = other.lengths;
  std::fill(values.begin(), values.end(), 0.0f);
}

void Activations::fill_padding(float value) {
  if (kind == Kind::maps) {
    for (int n = 0; n < batch; ++n) {
      const int valid = std::min(lengths[n], width);
      if (valid >= width) continue;
      for (int y = 0; y < height; ++y) {
        float* row = map_row(n, y);
        std::fill(row + static_cast<std::size_t>(valid) * channels,
                  row + static_cast<std::size_t>(width) * channels, value);
      }
    }
  } else {
    for (int t = 0; t < frames; ++t)
      for (int n = 0; n < batch; ++n)
        if (t >= lengths[n]) std::fill_n(frame(t, n), features, value);
  }
}

Parameter::Parameter(std::string n, std::vector<std::int64_t> dims, bool is_trainable)
    : name(std::move(n)), shape(std::move(dims)), trainable(is_trainable) {
  const auto count =
      std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<std::int64_t>());
  value.assign(static_cast<std::size_t>(count), 0.0f);
  grad.assign(static_cast<std::size_t>(count), 0.0f);
}

}  // namespace ocrcore::train
