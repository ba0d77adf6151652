#include "training/data/augment.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <vector>

namespace ocrcore::data {

namespace {

std::uint8_t clamp8(double v) {
  return static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
}

// Bilinear sample with paper (255) outside the image.
double sample(const Image& im, double x, double y) {
  const int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y));
  const double fx = x - x0, fy = y - y0;
  auto at = [&](int xx, int yy) -> double {
    if (xx < 0 || yy < 0 || xx >= im.width() || yy >= im.height()) return 255.0;
    return im.at(xx, yy);
  };
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
         fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
}

}  // namespace

Image affine_warp(const Image& im, double rotation_deg, double shear) {
  const double a = rotation_deg * std::numbers::pi / 180.0;
  const double c = std::cos(a), s = std::sin(a);
  // Grow the canvas so rotated and sheared ink stays inside.
  const int extra_w =
      static_cast<int>(std::ceil(std::abs(shear) * im.height() + std::abs(s) * im.height()));
  const int extra_h = static_cast<int>(std::ceil(std::abs(s) * im.width()));
  const int W = im.width() + extra_w, H = im.height() + extra_h;
  Image out(W, H, 255);
  const double cx = im.width() / 2.0, cy = im.height() / 2.0, ocx = W / 2.0, ocy = H / 2.0;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      // Inverse map: undo shear (x' = x + shear * y), then rotation.
      double dx = x - ocx, dy = y - ocy;
      dx -= shear * dy;
      const double sx = c * dx + s * dy + cx, sy = -s * dx + c * dy + cy;
      out.at(x, y) = clamp8(sample(im, sx, sy));
    }
  return out;
}

Image elastic_warp(const Image& im, double amplitude, double cell, std::mt19937_64& rng) {
  // Random offsets on a coarse grid, interpolated: smooth local distortion.
  const int gw = static_cast<int>(im.width() / cell) + 2,
            gh = static_cast<int>(im.height() / cell) + 2;
  std::normal_distribution<double> nd(0.0, amplitude);
  std::vector<double> gx(static_cast<std::size_t>(gw) * gh), gy(gx.size());
  for (std::size_t i = 0; i < gx.size(); ++i) {
    gx[i] = nd(rng);
    gy[i] = nd(rng);
  }
  auto field = [&](const std::vector<double>& g, double x, double y) {
    const double u = x / cell, v = y / cell;
    const int i = std::min(static_cast<int>(u), gw - 2), j = std::min(static_cast<int>(v), gh - 2);
    const double fu = u - i, fv = v - j;
    auto G = [&](int a, int b) { return g[static_cast<std::size_t>(b) * gw + a]; };
    return (1 - fv) * ((1 - fu) * G(i, j) + fu * G(i + 1, j)) +
           fv * ((1 - fu) * G(i, j + 1) + fu * G(i + 1, j + 1));
  };
  Image out(im.width(), im.height(), 255);
  for (int y = 0; y < im.height(); ++y)
    for (int x = 0; x < im.width(); ++x)
      out.at(x, y) = clamp8(sample(im, x + field(gx, x, y), y + field(gy, x, y)));
  return out;
}

Image morphology(const Image& im, bool thicken) {
  // Ink is dark: thickening takes the 3x3 minimum, thinning the maximum.
  Image out(im.width(), im.height(), 255);
  for (int y = 0; y < im.height(); ++y)
    for (int x = 0; x < im.width(); ++x) {
      int v = thicken ? 255 : 0;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int xx = x + dx, yy = y + dy;
          const int p =
              (xx < 0 || yy < 0 || xx >= im.width() || yy >= im.height()) ? 255 : im.at(xx, yy);
          v = thicken ? std::min(v, p) : std::max(v, p);
        }
      out.at(x, y) = static_cast<std::uint8_t>(v);
    }
  return out;
}

Image gaussian_blur(const Image& im, double sigma) {
  const int r = std::max(1, static_cast<int>(std::ceil(2.5 * sigma)));
  std::vector<double> k(2 * r + 1);
  double sum = 0;
  for (int i = -r; i <= r; ++i)
    sum += k[i + r] = std::exp(-0.5 * i * i / (sigma * sigma));
  for (double& v : k)
    v /= sum;
  const int W = im.width(), H = im.height();
  std::vector<double> tmp(static_cast<std::size_t>(W) * H);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      double a = 0;
      for (int i = -r; i <= r; ++i)
        a += k[i + r] * im.at(std::clamp(x + i, 0, W - 1), y);
      tmp[static_cast<std::size_t>(y) * W + x] = a;
    }
  Image out(W, H);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      double a = 0;
      for (int i = -r; i <= r; ++i)
        a += k[i + r] * tmp[static_cast<std::size_t>(std::clamp(y + i, 0, H - 1)) * W + x];
      out.at(x, y) = clamp8(a);
    }
  return out;
}

Image resample(const Image& im, double factor) {
  const int W = std::max(1, static_cast<int>(std::lround(im.width() * factor)));
  const int H = std::max(1, static_cast<int>(std::lround(im.height() * factor)));
  Image small(W, H);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      small.at(x, y) = clamp8(sample(im, (x + 0.5) / factor - 0.5, (y + 0.5) / factor - 0.5));
  Image out(im.width(), im.height());
  for (int y = 0; y < im.height(); ++y)
    for (int x = 0; x < im.width(); ++x)
      out.at(x, y) = clamp8(sample(small, (x + 0.5) * factor - 0.5, (y + 0.5) * factor - 0.5));
  return out;
}

void adjust_levels(Image& im, int ink, int paper, double gradient, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const double gx = u(rng) * gradient, gy = u(rng) * gradient;
  for (int y = 0; y < im.height(); ++y)
    for (int x = 0; x < im.width(); ++x) {
      const double t = im.at(x, y) / 255.0;  // 0 ink .. 1 paper
      const double shade = gx * (x / std::max(1.0, im.width() - 1.0) - 0.5) +
                           gy * (y / std::max(1.0, im.height() - 1.0) - 0.5);
      im.at(x, y) = clamp8(ink + (paper - ink) * t + shade * t);
    }
}

void add_noise(Image& im, double sigma, std::mt19937_64& rng) {
  std::normal_distribution<double> nd(0.0, sigma);
  for (int y = 0; y < im.height(); ++y)
    for (int x = 0; x < im.width(); ++x)
      im.at(x, y) = clamp8(im.at(x, y) + nd(rng));
}

int otsu_threshold(const Image& im) {
  std::array<double, 256> hist{};
  for (int y = 0; y < im.height(); ++y)
    for (int x = 0; x < im.width(); ++x)
      hist[im.at(x, y)] += 1;
  const double total = static_cast<double>(im.width()) * im.height();
  double sum_all = 0;
  for (int i = 0; i < 256; ++i)
    sum_all += i * hist[i];
  double w0 = 0, sum0 = 0, best = -1;
  int threshold = 128;
  for (int t = 0; t < 256; ++t) {
    w0 += hist[t];
    sum0 += t * hist[t];
    const double w1 = total - w0;
    if (w0 == 0 || w1 == 0) continue;
    const double m0 = sum0 / w0, m1 = (sum_all - sum0) / w1;
    const double between = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (between > best) best = between, threshold = t;
  }
  return threshold;
}

void binarize(Image& im, int threshold) {
  for (int y = 0; y < im.height(); ++y)
    for (int x = 0; x < im.width(); ++x)
      im.at(x, y) = im.at(x, y) > threshold ? 255 : 0;
}

namespace {

// Distance of every pixel to the nearest pixel of the other colour (city-block
// chamfer, two passes; 1 for pixels on the boundary).
std::vector<int> boundary_distance(const Image& im) {
  const int w = im.width(), h = im.height();
  const int far = w + h;
  std::vector<int> d(static_cast<std::size_t>(w) * h, far);
  auto ink = [&](int x, int y) { return im.at(x, y) < 128; };
  auto at = [&](int x, int y) -> int& { return d[static_cast<std::size_t>(y) * w + x]; };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const bool c = ink(x, y);
      if ((x > 0 && ink(x - 1, y) != c) || (y > 0 && ink(x, y - 1) != c) ||
          (x + 1 < w && ink(x + 1, y) != c) || (y + 1 < h && ink(x, y + 1) != c))
        at(x, y) = 1;
    }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      if (x > 0) at(x, y) = std::min(at(x, y), at(x - 1, y) + 1);
      if (y > 0) at(x, y) = std::min(at(x, y), at(x, y - 1) + 1);
    }
  for (int y = h - 1; y >= 0; --y)
    for (int x = w - 1; x >= 0; --x) {
      if (x + 1 < w) at(x, y) = std::min(at(x, y), at(x + 1, y) + 1);
      if (y + 1 < h) at(x, y) = std::min(at(x, y), at(x, y + 1) + 1);
    }
  return d;
}

// Ink grows by `size - 1` pixels then shrinks back (closing with a square).
Image closing(const Image& im, int size) {
  if (size < 2) return im;
  const int w = im.width(), h = im.height(), r = size - 1;
  Image grown(w, h, 255), out(w, h, 255);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      std::uint8_t v = 255;
      for (int dy = 0; dy <= r && v; ++dy)
        for (int dx = 0; dx <= r; ++dx)
          if (x - dx >= 0 && y - dy >= 0) v = std::min(v, im.at(x - dx, y - dy));
      grown.at(x, y) = v;
    }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      std::uint8_t v = 0;
      for (int dy = 0; dy <= r && v < 255; ++dy)
        for (int dx = 0; dx <= r; ++dx)
          if (x + dx < w && y + dy < h) v = std::max(v, grown.at(x + dx, y + dy));
      out.at(x, y) = v;
    }
  return out;
}

}  // namespace

void kanungo(Image& im, const KanungoParams& p, std::mt19937_64& rng) {
  const std::vector<int> d = boundary_distance(im);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int y = 0; y < im.height(); ++y)
    for (int x = 0; x < im.width(); ++x) {
      const double dist = d[static_cast<std::size_t>(y) * im.width() + x];
      const bool ink = im.at(x, y) < 128;
      const double flip = ink ? p.alpha0 * std::exp(-p.alpha * dist * dist) + p.eta
                              : p.beta0 * std::exp(-p.beta * dist * dist) + p.eta;
      const bool now_ink = u(rng) < flip ? !ink : ink;
      im.at(x, y) = now_ink ? 0 : 255;
    }
  im = closing(im, p.closing);
}

void add_specks(Image& im, int count, double max_radius, int ink, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double hi = std::max(0.6, max_radius);
  for (int k = 0; k < count; ++k) {
    const double cx = u(rng) * im.width(), cy = u(rng) * im.height();
    const double r = 0.6 + (hi - 0.6) * u(rng);
    const int x0 = std::max(0, static_cast<int>(std::floor(cx - r))),
              x1 = std::min(im.width() - 1, static_cast<int>(std::ceil(cx + r)));
    const int y0 = std::max(0, static_cast<int>(std::floor(cy - r))),
              y1 = std::min(im.height() - 1, static_cast<int>(std::ceil(cy + r)));
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x)
        if ((x + 0.5 - cx) * (x + 0.5 - cx) + (y + 0.5 - cy) * (y + 0.5 - cy) <= r * r)
          im.at(x, y) = static_cast<std::uint8_t>(std::min<int>(im.at(x, y), ink));
  }
}

Image scan_binarized(const Image& image, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Image im = u(rng) < 0.7 ? gaussian_blur(image, 0.3 + 0.7 * u(rng)) : image;
  // The threshold decides stroke weight: low keeps only the darkest ink (thin,
  // broken strokes), high merges neighbours (bold, filled counters).
  binarize(im, static_cast<int>(90 + 110 * u(rng)));
  KanungoParams k;
  k.alpha0 = k.beta0 = 0.2 + 0.8 * u(rng);
  k.alpha = k.beta = 0.8 + 2.0 * u(rng);
  k.eta = u(rng) < 0.3 ? 0.002 * u(rng) : 0.0;
  k.closing = u(rng) < 0.6 ? 2 : 1;
  kanungo(im, k, rng);
  return im;
}

Image augment(const Image& image, const AugmentSettings& s, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  auto chance = [&](double p) { return u(rng) < p; };
  auto range = [&](double lo, double hi) { return lo + (hi - lo) * u(rng); };
  Image im = image;
  if (chance(s.geometry))
    im = affine_warp(im, range(-s.max_rotation_deg, s.max_rotation_deg),
                     range(-s.max_shear, s.max_shear));
  if (chance(s.elastic))
    im = elastic_warp(im, range(0.4, 1.2), std::max(4.0, im.height() / 3.0), rng);
  if (chance(s.scale)) im = resample(im, range(0.5, 0.85));
  if (chance(s.morphology)) im = morphology(im, chance(0.5));
  if (chance(s.blur)) im = gaussian_blur(im, range(0.4, 1.2));
  if (chance(s.contrast))
    adjust_levels(im, static_cast<int>(range(0, 110)), static_cast<int>(range(165, 255)),
                  range(0, 50), rng);
  if (chance(s.noise)) add_noise(im, range(2, 14), rng);
  if (chance(s.binarize)) binarize(im, otsu_threshold(im));
  return im;
}

}  // namespace ocrcore::data
