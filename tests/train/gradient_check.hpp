#pragma once

// Finite-difference checks of training layers' backward passes (clstm's
// test-deriv.cc is the model): the analytic gradient of a random projection
// of the output must match central differences, for parameters and inputs,
// with padded lines in the batch.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "training/train/layers.hpp"

namespace ocrcore::train::testing {

inline Activations random_maps(int n, int c, int h, int w, std::vector<int> widths,
                               std::mt19937& rng) {
  Activations a;
  a.resize_maps(n, c, h, w);
  a.lengths = std::move(widths);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (float& v : a.values)
    v = nd(rng);
  return a;
}

inline Activations random_sequences(int t, int n, int d, std::vector<int> lengths,
                                    std::mt19937& rng) {
  Activations a;
  a.resize_sequences(t, n, d);
  a.lengths = std::move(lengths);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (float& v : a.values)
    v = nd(rng);
  return a;
}

// Whether element i of `a` lies inside its line (not padding).
inline bool is_valid(const Activations& a, std::size_t i) {
  if (a.kind == Activations::Kind::maps) {
    const std::size_t per_line = static_cast<std::size_t>(a.height) * a.width * a.channels;
    const int n = static_cast<int>(i / per_line);
    const int x = static_cast<int>((i / a.channels) % a.width);
    return x < a.lengths[n];
  }
  const int n = static_cast<int>((i / a.features) % a.batch);
  const int t = static_cast<int>(i / (static_cast<std::size_t>(a.features) * a.batch));
  return t < a.lengths[n];
}

struct Check {
  double worst = 0.0;  // largest relative error seen
  int compared = 0;
};

// loss = sum(r * out) over valid outputs.
inline double projected_loss(Layer& layer, const Activations& input, const Activations& r,
                             Mode mode) {
  Activations in = input, out;
  layer.forward(in, out, mode);
  double loss = 0.0;
  for (std::size_t i = 0; i < out.values.size(); ++i)
    if (r.values[i] != 0.0f) loss += static_cast<double>(r.values[i]) * out.values[i];
  return loss;
}

inline void expect_close(Check& c, double analytic, double numeric, const std::string& what) {
  const double err =
      std::abs(analytic - numeric) / std::max({1e-2, std::abs(analytic), std::abs(numeric)});
  c.worst = std::max(c.worst, err);
  ++c.compared;
  EXPECT_LT(err, 2e-2) << what << ": analytic " << analytic << ", numeric " << numeric;
}

inline Check gradient_check(Layer& layer, const Activations& input, Mode mode = Mode::training,
                            float eps = 1e-2f, int samples = 40, bool check_input = true) {
  std::mt19937 rng(7);
  Activations in = input, out;
  layer.forward(in, out, mode);
  Activations r;
  r.zeros_like(out);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (std::size_t i = 0; i < r.values.size(); ++i)
    if (is_valid(out, i)) r.values[i] = nd(rng);
  for (Parameter* p : layer.parameters())
    std::fill(p->grad.begin(), p->grad.end(), 0.0f);
  Activations din, r_consumed = r;
  layer.backward(in, out, r_consumed, check_input ? &din : nullptr);

  Check c;
  for (Parameter* p : layer.parameters()) {
    if (!p->trainable) continue;
    for (int s = 0; s < samples; ++s) {
      const std::size_t i = std::uniform_int_distribution<std::size_t>(0, p->numel() - 1)(rng);
      const float saved = p->value[i];
      p->value[i] = saved + eps;
      const double plus = projected_loss(layer, input, r, mode);
      p->value[i] = saved - eps;
      const double minus = projected_loss(layer, input, r, mode);
      p->value[i] = saved;
      expect_close(c, p->grad[i], (plus - minus) / (2.0 * eps),
                   p->name + "[" + std::to_string(i) + "]");
    }
  }
  if (check_input) {
    for (int s = 0; s < samples; ++s) {
      std::size_t i = 0;
      do {
        i = std::uniform_int_distribution<std::size_t>(0, input.values.size() - 1)(rng);
      } while (!is_valid(input, i));
      Activations x = input;
      x.values[i] += eps;
      const double plus = projected_loss(layer, x, r, mode);
      x.values[i] -= 2 * eps;
      const double minus = projected_loss(layer, x, r, mode);
      expect_close(c, din.values[i], (plus - minus) / (2.0 * eps),
                   "input[" + std::to_string(i) + "]");
    }
    // Padding gets no gradient.
    for (std::size_t i = 0; i < din.values.size(); ++i)
      if (!is_valid(input, i)) EXPECT_EQ(din.values[i], 0.0f) << "padding element " << i;
  }
  return c;
}

inline void randomize(Layer& layer, std::mt19937& rng, float scale = 0.3f) {
  std::normal_distribution<float> nd(0.0f, scale);
  for (Parameter* p : layer.parameters())
    if (p->trainable)
      for (float& v : p->value)
        v = nd(rng);
}

}  // namespace ocrcore::train::testing
