#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ocrcore/error.hpp"
#include "ocrcore/image.hpp"

namespace ocrcore {

namespace {

// Below this ink-to-background contrast the line is treated as blank: stretching
// it would turn scanner noise into ink.
constexpr int kMinStretchRange = 16;

struct Tap {
  int index;
  float weight;
};

// For each output sample, the input samples and weights that make it:
// area averaging when shrinking (exact overlap of pixel footprints), linear
// interpolation with edge replication when enlarging.
std::vector<std::vector<Tap>> resample_taps(int in, int out) {
  std::vector<std::vector<Tap>> taps(out);
  const double scale = double(out) / in;
  for (int o = 0; o < out; ++o) {
    auto& t = taps[o];
    if (scale < 1.0) {
      double lo = o / scale, hi = (o + 1) / scale;
      double total = 0;
      for (int i = static_cast<int>(std::floor(lo)); i < static_cast<int>(std::ceil(hi)); ++i) {
        double w = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
        if (w <= 0 || i >= in) continue;
        t.push_back({i, static_cast<float>(w)});
        total += w;
      }
      for (auto& tap : t)
        tap.weight = static_cast<float>(tap.weight / total);
    } else {
      double src = (o + 0.5) / scale - 0.5;
      int i0 = static_cast<int>(std::floor(src));
      float frac = static_cast<float>(src - i0);
      int a = std::clamp(i0, 0, in - 1), b = std::clamp(i0 + 1, 0, in - 1);
      t.push_back({a, 1.0f - frac});
      if (frac > 0) t.push_back({b, frac});
    }
  }
  return taps;
}

// ---- center_text normalisation ------------------------------------------------
//
// The text body is measured on the ink mask (levels >= 0.5 after the contrast
// mapping): a centre line c(x) fitted to the ink's per-column mean height (a
// polynomial of degree 0-2, robustly reweighted, so it follows skew and slight
// curvature but not single letters), and the body radius r, the mean vertical
// distance of ink from c(x). The output's rows span c(x) +- kBandRadii * r, so
// the body always has the same height in rows whatever the crop; columns span
// the ink plus kMarginRadii * r on each side.

// Half the output height in body radii. Ascenders and descenders reach about
// 2.8 r in roman type; 3.5 keeps all of them and brackets with room to spare.
constexpr double kBandRadii = 3.5;
// Margin kept left and right of the ink, in body radii (about one x-height).
constexpr double kMarginRadii = 2.0;
// Ink needed to measure a line at all.
constexpr int kMinInkPixels = 4;

struct TextGeometry {
  double coef[3] = {0, 0, 0};  // c(x) = coef . (1, u, u^2), u = (x - u_center) / u_scale
  double u_center = 0, u_scale = 1;
  double radius = 1;     // r, source pixels
  double ink_begin = 0;  // first and one past the last column with ink
  double ink_end = 0;
  double center(double x) const {
    const double u = (x - u_center) / u_scale;
    return coef[0] + u * (coef[1] + u * coef[2]);
  }
};

// Weighted least squares of y on (1, u, u^2) up to `degree`; false if singular.
bool fit_polynomial(const std::vector<double>& u, const std::vector<double>& y,
                    const std::vector<double>& w, int degree, double coef[3]) {
  const int n = degree + 1;
  double a[3][4] = {};
  for (std::size_t i = 0; i < u.size(); ++i) {
    const double p[3] = {1.0, u[i], u[i] * u[i]};
    for (int r = 0; r < n; ++r) {
      for (int c = 0; c < n; ++c)
        a[r][c] += w[i] * p[r] * p[c];
      a[r][n] += w[i] * p[r] * y[i];
    }
  }
  // Gaussian elimination with partial pivoting on the n x n system.
  for (int c = 0; c < n; ++c) {
    int pivot = c;
    for (int r = c + 1; r < n; ++r)
      if (std::abs(a[r][c]) > std::abs(a[pivot][c])) pivot = r;
    if (std::abs(a[pivot][c]) < 1e-12) return false;
    std::swap(a[c], a[pivot]);
    for (int r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[r][c] / a[c][c];
      for (int k = c; k <= n; ++k)
        a[r][k] -= f * a[c][k];
    }
  }
  for (int k = 0; k < 3; ++k)
    coef[k] = k < n ? a[k][n] / a[k][k] : 0.0;
  return true;
}

std::optional<TextGeometry> measure_text(const ImageView& image,
                                         const std::array<float, 256>& lut) {
  const int w = image.width, h = image.height;
  std::array<bool, 256> is_ink{};
  for (int v = 0; v < 256; ++v)
    is_ink[v] = lut[v] >= 0.5f;

  TextGeometry g;
  // Column profiles of the ink within `band` of the current centre line: its
  // mass, and the sums of its heights and squared heights.
  std::vector<double> mass(w), sum_y(w), sum_yy(w);
  auto profile = [&](double band) {
    double total = 0;
    for (int x = 0; x < w; ++x) {
      const double c = g.center(x + 0.5);
      double m = 0, sy = 0, syy = 0;
      for (int y = 0; y < h; ++y) {
        const double yc = y + 0.5;
        if (!is_ink[image.at(x, y)] || std::abs(yc - c) > band) continue;
        m += 1;
        sy += yc;
        syy += yc * yc;
      }
      mass[x] = m;
      sum_y[x] = sy;
      sum_yy[x] = syy;
      total += m;
    }
    return total;
  };
  // Mean distance of the ink within `band` from the centre line.
  auto body_radius = [&](double band) {
    double n = 0, d = 0;
    for (int x = 0; x < w; ++x) {
      const double c = g.center(x + 0.5);
      for (int y = 0; y < h; ++y) {
        const double dy = std::abs(y + 0.5 - c);
        if (!is_ink[image.at(x, y)] || dy > band) continue;
        n += 1;
        d += dy;
      }
    }
    return n > 0 ? d / n : 0.0;
  };

  // Round 0: a flat centre line through the middle, all ink.
  g.coef[0] = h / 2.0;
  const double all = std::numeric_limits<double>::infinity();
  if (profile(all) < kMinInkPixels) return std::nullopt;
  double band = all;
  for (int round = 0; round < 2; ++round) {
    std::vector<double> u, y, wt;
    double first = -1, last = -1, n = 0, mean = 0, mean_square = 0;
    for (int x = 0; x < w; ++x)
      if (mass[x] > 0) {
        if (first < 0) first = x;
        last = x + 1;
        n += mass[x];
        mean += sum_y[x];
        mean_square += sum_yy[x];
      }
    if (n < kMinInkPixels) break;  // keep the previous round's line
    mean /= n;
    mean_square /= n;
    const double spread = std::max(0.5, std::sqrt(std::max(0.0, mean_square - mean * mean)));
    // Skew needs a line several times longer than it is high, curvature a
    // long one; short words get a flat line.
    const double length = last - first;
    const int degree = length > 40 * spread ? 2 : length > 8 * spread ? 1 : 0;
    TextGeometry next = g;
    next.u_center = (first + last) / 2;
    next.u_scale = std::max(1.0, length / 2);
    for (int x = 0; x < w; ++x)
      if (mass[x] > 0) {
        u.push_back((x + 0.5 - next.u_center) / next.u_scale);
        y.push_back(sum_y[x] / mass[x]);
        wt.push_back(mass[x]);
      }
    // Columns far from the line (a lone descender, a speck) lose weight.
    std::vector<double> weight = wt;
    bool ok = true;
    for (int iter = 0; iter < 4 && ok; ++iter) {
      ok = fit_polynomial(u, y, weight, degree, next.coef);
      for (std::size_t i = 0; i < u.size() && ok; ++i) {
        const double r = (y[i] - next.center(u[i] * next.u_scale + next.u_center)) / spread;
        weight[i] = wt[i] / (1 + r * r);
      }
    }
    if (!ok) {
      next.coef[0] = mean;
      next.coef[1] = next.coef[2] = 0;
    }
    next.ink_begin = first;
    next.ink_end = last;
    g = next;
    g.radius = std::max(0.5, body_radius(band));
    // Round 1 ignores ink outside the band the output keeps (parts of the
    // neighbouring lines that tight crops of scans include).
    band = kBandRadii * g.radius;
    if (round == 0 && profile(band) < kMinInkPixels) break;
  }
  return g;
}

// Where output samples come from along one axis: output sample o covers the
// source interval [start + o * step, start + (o + 1) * step). Area averaging
// when step > 1, linear interpolation otherwise; source samples outside
// [0, in) are background (0) and contribute nothing.
void interval_taps(double start, double step, int out, int in,
                   std::vector<std::vector<Tap>>& taps) {
  taps.resize(out);  // called once per output column: keep the inner vectors' memory
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

// The source columns [x0, x1) the output spans and its scale (output pixels
// per source pixel) for a model height H.
struct CenteredFrame {
  double scale, x0, x1;
  long long width() const { return std::max(1LL, std::llround((x1 - x0) * scale)); }
};
CenteredFrame centered_frame(const TextGeometry& g, int H) {
  const double margin = kMarginRadii * g.radius;
  return {(H / 2.0) / (kBandRadii * g.radius), g.ink_begin - margin, g.ink_end + margin};
}

// Resamples the frame (whose width the caller has checked).
LineTensor resample_centered(const ImageView& image, const std::array<float, 256>& lut,
                             const TextGeometry& g, int H) {
  const CenteredFrame frame = centered_frame(g, H);
  const double scale = frame.scale, x0 = frame.x0, x1 = frame.x1;
  const int W = static_cast<int>(frame.width());
  LineTensor out;
  out.height = H;
  out.width = W;
  out.scale_x = static_cast<float>((x1 - x0) / W);
  out.offset_x = static_cast<float>(x0);
  out.pixels.assign(static_cast<std::size_t>(H) * W, 0.0f);

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

std::string too_wide(long long width, const ImageView& image, const Preprocessing& settings) {
  return "line is " + std::to_string(width) + " px wide once normalised to height " +
         std::to_string(settings.height) + " (source " + std::to_string(image.width) + "x" +
         std::to_string(image.height) + "); the limit is " + std::to_string(settings.max_width) +
         " (a line image, not a page, is expected)";
}

}  // namespace

LineTensor normalize_line(const ImageView& image, const Preprocessing& settings) {
  if (image.empty())
    throw Error("image is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                " pixels (empty)");
  const int H = settings.height;
  const long long scaled = std::llround(double(image.width) * H / image.height);
  if (settings.normalization == Preprocessing::Normalization::scale_crop &&
      scaled > settings.max_width)
    throw Error(too_wide(scaled, image, settings));

  // Background level from the histogram: the median pixel of a text line is paper.
  std::array<std::size_t, 256> hist{};
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      ++hist[image.at(x, y)];
  const std::size_t total = static_cast<std::size_t>(image.width) * image.height;
  auto percentile = [&](double q) {
    std::size_t target = static_cast<std::size_t>(q * double(total - 1)), seen = 0;
    for (int v = 0; v < 256; ++v) {
      seen += hist[v];
      if (seen > target) return v;
    }
    return 255;
  };
  const int median = percentile(0.5);
  bool dark_on_light = settings.polarity == Preprocessing::Polarity::dark_on_light ||
                       (settings.polarity == Preprocessing::Polarity::automatic && median >= 128);

  // Map each grey level to [0, 1]: background 0, ink towards 1.
  std::array<float, 256> lut{};
  int background = dark_on_light ? 255 : 0, range = 255;
  if (settings.stretch_contrast) {
    background = median;
    int ink = dark_on_light ? percentile(0.01) : percentile(0.99);
    range = std::abs(background - ink);
    if (range < kMinStretchRange) range = 255;
  }
  for (int v = 0; v < 256; ++v) {
    float x = float(dark_on_light ? background - v : v - background) / float(range);
    lut[v] = std::clamp(x, 0.0f, 1.0f);
  }

  if (settings.normalization == Preprocessing::Normalization::center_text) {
    if (auto text = measure_text(image, lut)) {
      const long long width = centered_frame(*text, H).width();
      if (width > settings.max_width) throw Error(too_wide(width, image, settings));
      return resample_centered(image, lut, *text, H);
    }
    // No ink to measure (a blank line): scaled as a whole, which gives no frames
    // of ink either way.
    if (scaled > settings.max_width) throw Error(too_wide(scaled, image, settings));
  }
  const int W = static_cast<int>(std::max(1LL, std::min<long long>(scaled, 1LL << 30)));

  // Separable resampling: vertical into a H x w buffer, then horizontal.
  const auto vtaps = resample_taps(image.height, H);
  const auto htaps = resample_taps(image.width, W);
  std::vector<float> rows(static_cast<std::size_t>(H) * image.width, 0.0f);
  for (int oy = 0; oy < H; ++oy) {
    float* dst = rows.data() + static_cast<std::size_t>(oy) * image.width;
    for (const Tap& tap : vtaps[oy])
      for (int x = 0; x < image.width; ++x)
        dst[x] += tap.weight * lut[image.at(x, tap.index)];
  }
  LineTensor out;
  out.height = H;
  out.width = W;
  out.scale_x = float(image.width) / float(W);
  out.pixels.assign(static_cast<std::size_t>(H) * W, 0.0f);
  for (int oy = 0; oy < H; ++oy) {
    const float* src = rows.data() + static_cast<std::size_t>(oy) * image.width;
    float* dst = out.pixels.data() + static_cast<std::size_t>(oy) * W;
    for (int ox = 0; ox < W; ++ox) {
      float acc = 0;
      for (const Tap& tap : htaps[ox])
        acc += tap.weight * src[tap.index];
      dst[ox] = acc;
    }
  }
  return out;
}

}  // namespace ocrcore
