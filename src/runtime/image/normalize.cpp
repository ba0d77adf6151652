#include <emmintrin.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ocrcore/cpu.hpp"
#include "ocrcore/error.hpp"
#include "ocrcore/image.hpp"
#include "runtime/image/text_geometry.hpp"
#include "runtime/kernels/kernels.hpp"

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

// Ink needed to measure a line at all.
constexpr int kMinInkPixels = 4;

// Weighted least squares of y on (1, u, u^2) up to degree N - 1; false if
// singular. (N a template argument: the loops unrolled, the same arithmetic.)
template <int N>
bool fit_polynomial(const std::vector<double>& u, const std::vector<double>& y,
                    const std::vector<double>& w, double coef[3]) {
  double a[3][4] = {};
  for (std::size_t i = 0; i < u.size(); ++i) {
    const double p[3] = {1.0, u[i], u[i] * u[i]};
    for (int r = 0; r < N; ++r) {
      for (int c = 0; c < N; ++c)
        a[r][c] += w[i] * p[r] * p[c];
      a[r][N] += w[i] * p[r] * y[i];
    }
  }
  // Gaussian elimination with partial pivoting on the N x N system.
  for (int c = 0; c < N; ++c) {
    int pivot = c;
    for (int r = c + 1; r < N; ++r)
      if (std::abs(a[r][c]) > std::abs(a[pivot][c])) pivot = r;
    if (std::abs(a[pivot][c]) < 1e-12) return false;
    std::swap(a[c], a[pivot]);
    for (int r = 0; r < N; ++r) {
      if (r == c) continue;
      const double f = a[r][c] / a[c][c];
      for (int k = c; k <= N; ++k)
        a[r][k] -= f * a[c][k];
    }
  }
  for (int k = 0; k < 3; ++k)
    coef[k] = k < N ? a[k][N] / a[k][k] : 0.0;
  return true;
}

bool fit_polynomial(const std::vector<double>& u, const std::vector<double>& y,
                    const std::vector<double>& w, int degree, double coef[3]) {
  switch (degree) {
    case 0:
      return fit_polynomial<1>(u, y, w, coef);
    case 1:
      return fit_polynomial<2>(u, y, w, coef);
    default:
      return fit_polynomial<3>(u, y, w, coef);
  }
}

// Calls fn(i, weight) for the source samples i that make output sample o of
// an axis where output o covers the source interval [start + o * step,
// start + (o + 1) * step): area averaging when step > 1, linear interpolation
// otherwise; samples outside [0, in) are background (0) and are skipped. The
// reference's interval_taps, one output at a time and without storage.
template <class Fn>
inline void for_each_tap(double start, double step, int o, int in, Fn&& fn) {
  if (step > 1.0) {
    const double lo = start + o * step, hi = lo + step;
    for (int i = std::max(0, static_cast<int>(std::floor(lo)));
         i < std::min(in, static_cast<int>(std::ceil(hi))); ++i) {
      const double wgt = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
      if (wgt > 0) fn(i, static_cast<float>(wgt / step));
    }
  } else {
    const double src = start + (o + 0.5) * step - 0.5;
    const int i0 = static_cast<int>(std::floor(src));
    const float frac = static_cast<float>(src - i0);
    if (i0 >= 0 && i0 < in) fn(i0, 1.0f - frac);
    if (i0 + 1 >= 0 && i0 + 1 < in && frac > 0) fn(i0 + 1, frac);
  }
}

}  // namespace

namespace detail {

std::array<bool, 256> ink_levels(const std::array<float, 256>& lut) {
  std::array<bool, 256> is_ink{};
  for (int v = 0; v < 256; ++v)
    is_ink[v] = lut[v] >= 0.5f;
  return is_ink;
}

long long CenteredFrame::width() const {
  return std::max(1LL, std::llround((x1 - x0) * scale));
}

LineTensor CenteredFrame::blank_output(int H) const {
  LineTensor out;
  out.height = H;
  out.width = static_cast<int>(width());
  out.scale_x = static_cast<float>((x1 - x0) / out.width);
  out.offset_x = static_cast<float>(x0);
  out.pixels.assign(static_cast<std::size_t>(H) * out.width, 0.0f);
  return out;
}

CenteredFrame centered_frame(const TextGeometry& g, int H) {
  const double margin = kMarginRadii * g.radius;
  return {(H / 2.0) / (kBandRadii * g.radius), g.ink_begin - margin, g.ink_end + margin};
}

InkColumns::InkColumns(const ImageView& image, const std::array<bool, 256>& is_ink)
    : width_(image.width), height_(image.height), begin_(image.width + 1, 0) {
  if (height_ > kMaxHeight)
    throw Error("InkColumns: image taller than 65535 rows (internal error)", ErrorKind::internal);
  // The ink mask, 16 pixels to a 16-bit word, row by row: the levels that
  // are ink form one range (the contrast mapping is monotonic), tested 16 at
  // a time; a set of levels that is not a range (no caller makes one) is
  // looked up pixel by pixel. Then only ink pixels cost anything: a pixel at
  // a time through a lookup table was a fifth of center_text's time (perf).
  int lo = 0;
  while (lo < 256 && !is_ink[lo])
    ++lo;
  int hi = lo;
  while (hi + 1 < 256 && is_ink[hi + 1])
    ++hi;
  bool range = true;
  for (int v = hi + 1; v < 256; ++v)
    range = range && !is_ink[v];
  const int words = (width_ + 15) / 16;
  std::vector<std::uint16_t> mask(static_cast<std::size_t>(words) * height_, 0);
  if (lo < 256) {
    const __m128i low = _mm_set1_epi8(static_cast<char>(lo)),
                  span = _mm_set1_epi8(static_cast<char>(hi - lo)), zero = _mm_setzero_si128();
    for (int y = 0; y < height_; ++y) {
      const std::uint8_t* row = image.data + static_cast<std::ptrdiff_t>(y) * image.stride;
      std::uint16_t* bits = mask.data() + static_cast<std::size_t>(y) * words;
      int x = 0;
      if (range)
        for (; x + 16 <= width_; x += 16) {
          // (v - lo) mod 256 <= hi - lo: a saturating subtraction leaves 0.
          const __m128i v =
              _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + x)), low);
          bits[x / 16] = static_cast<std::uint16_t>(
              _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_subs_epu8(v, span), zero)));
        }
      for (; x < width_; ++x)
        if (is_ink[row[x]]) bits[x / 16] |= static_cast<std::uint16_t>(1u << (x % 16));
    }
  }
  // Count each column's ink, then place its rows, in row order.
  auto for_each_ink = [&](auto&& fn) {
    for (int y = 0; y < height_; ++y) {
      const std::uint16_t* bits = mask.data() + static_cast<std::size_t>(y) * words;
      for (int w = 0; w < words; ++w)
        for (unsigned b = bits[w]; b != 0; b &= b - 1)
          fn(w * 16 + std::countr_zero(b), y);
    }
  };
  for_each_ink([&](int x, int) { ++begin_[x + 1]; });
  for (int x = 0; x < width_; ++x)
    begin_[x + 1] += begin_[x];
  rows_.resize(begin_[width_]);
  std::vector<std::size_t> next(begin_.begin(), begin_.end() - 1);
  for_each_ink([&](int x, int y) { rows_[next[x]++] = static_cast<std::uint16_t>(y); });
}

double InkColumns::profile(const TextGeometry& g, double band, InkProfile& out) const {
  out.mass.assign(width_, 0.0);
  out.sum_y.assign(width_, 0.0);
  out.sum_yy.assign(width_, 0.0);
  double total = 0;
  for (int x = 0; x < width_; ++x) {
    const double c = g.center(x + 0.5);
    double m = 0, sy = 0, syy = 0;
    for (std::size_t i = begin_[x]; i < begin_[x + 1]; ++i) {
      const double yc = rows_[i] + 0.5;
      if (std::abs(yc - c) > band) continue;
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

double InkColumns::body_radius(const TextGeometry& g, double band) const {
  double n = 0, d = 0;
  for (int x = 0; x < width_; ++x) {
    const double c = g.center(x + 0.5);
    for (std::size_t i = begin_[x]; i < begin_[x + 1]; ++i) {
      const double dy = std::abs(rows_[i] + 0.5 - c);
      if (dy > band) continue;
      n += 1;
      d += dy;
    }
  }
  return n > 0 ? d / n : 0.0;
}

template <class Columns>
std::optional<TextGeometry> fit_text_geometry(const Columns& columns) {
  const int w = columns.width(), h = columns.height();
  TextGeometry g;
  InkProfile ink;

  // Round 0: a flat centre line through the middle, all ink.
  g.coef[0] = h / 2.0;
  const double all = std::numeric_limits<double>::infinity();
  if (columns.profile(g, all, ink) < kMinInkPixels) return std::nullopt;
  double band = all;
  for (int round = 0; round < 2; ++round) {
    std::vector<double> u, y, wt;
    double first = -1, last = -1, n = 0, mean = 0, mean_square = 0;
    for (int x = 0; x < w; ++x)
      if (ink.mass[x] > 0) {
        if (first < 0) first = x;
        last = x + 1;
        n += ink.mass[x];
        mean += ink.sum_y[x];
        mean_square += ink.sum_yy[x];
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
      if (ink.mass[x] > 0) {
        u.push_back((x + 0.5 - next.u_center) / next.u_scale);
        y.push_back(ink.sum_y[x] / ink.mass[x]);
        wt.push_back(ink.mass[x]);
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
    g.radius = std::max(0.5, columns.body_radius(g, band));
    // Round 1 ignores ink outside the band the output keeps (parts of the
    // neighbouring lines that tight crops of scans include).
    band = kBandRadii * g.radius;
    if (round == 0 && columns.profile(g, band, ink) < kMinInkPixels) break;
  }
  return g;
}

template std::optional<TextGeometry> fit_text_geometry(const InkColumns&);
template std::optional<TextGeometry> fit_text_geometry(const InkColumnsReference&);

std::optional<TextGeometry> measure_text(const ImageView& image,
                                         const std::array<float, 256>& lut) {
  const std::array<bool, 256> is_ink = ink_levels(lut);
  if (image.height > InkColumns::kMaxHeight)
    return fit_text_geometry(InkColumnsReference(image, is_ink));
  return fit_text_geometry(InkColumns(image, is_ink));
}

LineTensor resample_centered(const ImageView& image, const std::array<float, 256>& lut,
                             const TextGeometry& g, int H) {
  const CenteredFrame frame = centered_frame(g, H);
  const double scale = frame.scale, x0 = frame.x0;
  LineTensor out = frame.blank_output(H);
  const int W = out.width;

  // Horizontal pass over every source row with the columns' taps listed once,
  // then per output column a vertical pass along that column's centre line.
  struct Tap {
    int index;
    float weight;
  };
  std::vector<Tap> htaps;
  std::vector<std::size_t> hbegin(W + 1, 0);
  for (int ox = 0; ox < W; ++ox) {
    for_each_tap(x0, out.scale_x, ox, image.width, [&](int i, float wgt) {
      htaps.push_back({i, wgt});
    });
    hbegin[ox + 1] = htaps.size();
  }
  // Column-major, so that each output column's vertical pass reads one run;
  // the source too (its levels mapped), so that a horizontal tap adds a whole
  // source column, contiguous in y, to an output column: vector arithmetic,
  // where taps gathered row by row were scalar (a third of the
  // normalisation's time; perf). Same products, summed in the same order.
  const int h = image.height;
  std::vector<float> source(static_cast<std::size_t>(image.width) * h);
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* row = image.data + static_cast<std::size_t>(y) * image.stride;
    for (int x = 0; x < image.width; ++x)
      source[static_cast<std::size_t>(x) * h + y] = lut[row[x]];
  }
  std::vector<float> cols(static_cast<std::size_t>(h) * W, 0.0f);
  for (int ox = 0; ox < W; ++ox) {
    float* __restrict out_column = cols.data() + static_cast<std::size_t>(ox) * h;
    for (std::size_t t = hbegin[ox]; t < hbegin[ox + 1]; ++t) {
      const float* __restrict in_column =
          source.data() + static_cast<std::size_t>(htaps[t].index) * h;
      const float w = htaps[t].weight;
      for (int y = 0; y < h; ++y)
        out_column[y] += w * in_column[y];
    }
  }
  const double step = 1.0 / scale;
  const auto& kernels = kernels::kernel_table(resolve_isa(Isa::automatic));
  for (int ox = 0; ox < W; ++ox) {
    const double start = g.center(x0 + (ox + 0.5) * out.scale_x) - (H / 2.0) * step;
    const float* column = cols.data() + static_cast<std::size_t>(ox) * h;
    if (step > 1.0) {  // shrinking, the usual case: the per-ISA kernel
      kernels.area_column(column, h, start, step, H, out.pixels.data() + ox,
                          static_cast<std::size_t>(W));
      continue;
    }
    for (int oy = 0; oy < H; ++oy) {
      float acc = 0;
      for_each_tap(start, step, oy, h, [&](int i, float wgt) { acc += wgt * column[i]; });
      out.pixels[static_cast<std::size_t>(oy) * W + ox] = acc;
    }
  }
  return out;
}

}  // namespace detail

namespace {

using detail::centered_frame;

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
  // Four partial histograms: a binarised scan has two levels, and counting
  // every pixel into one bin makes each increment wait for the one before.
  std::array<std::array<std::size_t, 256>, 4> parts{};
  for (int y = 0; y < image.height; ++y) {
    const std::uint8_t* row = image.data + static_cast<std::ptrdiff_t>(y) * image.stride;
    int x = 0;
    for (; x + 4 <= image.width; x += 4) {
      ++parts[0][row[x]];
      ++parts[1][row[x + 1]];
      ++parts[2][row[x + 2]];
      ++parts[3][row[x + 3]];
    }
    for (; x < image.width; ++x)
      ++parts[0][row[x]];
  }
  std::array<std::size_t, 256> hist{};
  for (int v = 0; v < 256; ++v)
    hist[v] = parts[0][v] + parts[1][v] + parts[2][v] + parts[3][v];
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
    if (auto text = detail::measure_text(image, lut)) {
      const long long width = centered_frame(*text, H).width();
      if (width > settings.max_width) throw Error(too_wide(width, image, settings));
      return detail::resample_centered(image, lut, *text, H);
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
