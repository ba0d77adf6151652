// Plain reference implementations of the center_text passes (see
// text_geometry.hpp): every pixel visited as the definitions read. The fast
// versions in normalize.cpp are tested against these.

#include <cmath>
#include <vector>

#include "runtime/image/text_geometry.hpp"

namespace ocrcore::detail {

namespace {

struct Tap {
  int index;
  float weight;
};

// Where output samples come from along one axis: output sample o covers the
// source interval [start + o * step, start + (o + 1) * step). Area averaging
// when step > 1, linear interpolation otherwise; source samples outside
// [0, in) are background (0) and contribute nothing.
void interval_taps(double start, double step, int out, int in,
                   std::vector<std::vector<Tap>>& taps) {
  taps.resize(out);
  for (int o = 0; o < out; ++o) {
    auto& t = taps[o];
    t.clear();
    if (step > 1.0) {
      const double lo = start + o * step, hi = lo + step;
      for (int i = std::max(0, static_cast<int>(std::floor(lo)));
           i < std::min(in, static_cast<int>(std::ceil(hi))); ++i) {
        const double wgt = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
        if (wgt > 0) t.push_back({i, static_cast<float>(wgt / step)});
      }
    } else {
      const double src = start + (o + 0.5) * step - 0.5;
      const int i0 = static_cast<int>(std::floor(src));
      const float frac = static_cast<float>(src - i0);
      if (i0 >= 0 && i0 < in) t.push_back({i0, 1.0f - frac});
      if (i0 + 1 >= 0 && i0 + 1 < in && frac > 0) t.push_back({i0 + 1, frac});
    }
  }
}

}  // namespace

double InkColumnsReference::profile(const TextGeometry& g, double band, InkProfile& out) const {
  const int w = image_.width, h = image_.height;
  out.mass.assign(w, 0.0);
  out.sum_y.assign(w, 0.0);
  out.sum_yy.assign(w, 0.0);
  double total = 0;
  for (int x = 0; x < w; ++x) {
    const double c = g.center(x + 0.5);
    double m = 0, sy = 0, syy = 0;
    for (int y = 0; y < h; ++y) {
      const double yc = y + 0.5;
      if (!is_ink_[image_.at(x, y)] || std::abs(yc - c) > band) continue;
      m += 1;
      sy += yc;
      syy += yc * yc;
    }
    out.mass[x] = m;
    out.sum_y[x] = sy;
    out.sum_yy[x] = syy;
    total += m;
  }
  return total;
}

double InkColumnsReference::body_radius(const TextGeometry& g, double band) const {
  double n = 0, d = 0;
  for (int x = 0; x < image_.width; ++x) {
    const double c = g.center(x + 0.5);
    for (int y = 0; y < image_.height; ++y) {
      const double dy = std::abs(y + 0.5 - c);
      if (!is_ink_[image_.at(x, y)] || dy > band) continue;
      n += 1;
      d += dy;
    }
  }
  return n > 0 ? d / n : 0.0;
}

std::optional<TextGeometry> measure_text_reference(const ImageView& image,
                                                   const std::array<float, 256>& lut) {
  return fit_text_geometry(InkColumnsReference(image, ink_levels(lut)));
}

LineTensor resample_centered_reference(const ImageView& image, const std::array<float, 256>& lut,
                                       const TextGeometry& g, int H) {
  const CenteredFrame frame = centered_frame(g, H);
  const double scale = frame.scale, x0 = frame.x0;
  LineTensor out = frame.blank_output(H);
  const int W = out.width;

  // Horizontal pass over every source row, then per output column a vertical
  // pass along that column's centre line.
  std::vector<std::vector<Tap>> htaps, vtaps;
  interval_taps(x0, out.scale_x, W, image.width, htaps);
  std::vector<float> cols(static_cast<std::size_t>(image.height) * W, 0.0f);
  for (int y = 0; y < image.height; ++y) {
    float* dst = cols.data() + static_cast<std::size_t>(y) * W;
    for (int ox = 0; ox < W; ++ox) {
      float acc = 0;
      for (const Tap& tap : htaps[ox])
        acc += tap.weight * lut[image.at(tap.index, y)];
      dst[ox] = acc;
    }
  }
  const double step = 1.0 / scale;
  for (int ox = 0; ox < W; ++ox) {
    const double c = g.center(x0 + (ox + 0.5) * out.scale_x);
    interval_taps(c - (H / 2.0) * step, step, H, image.height, vtaps);
    for (int oy = 0; oy < H; ++oy) {
      float acc = 0;
      for (const Tap& tap : vtaps[oy])
        acc += tap.weight * cols[static_cast<std::size_t>(tap.index) * W + ox];
      out.pixels[static_cast<std::size_t>(oy) * W + ox] = acc;
    }
  }
  return out;
}

}  // namespace ocrcore::detail
