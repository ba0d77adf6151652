// Preprocessing::Normalization::center_text: the text body, not the crop,
// decides the geometry of the network input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "runtime/image/text_geometry.hpp"
#include "test_util.hpp"

using namespace ocrcore;

namespace {

// A synthetic printed line: "letters" are boxes standing on a baseline that may
// be skewed (slope) and curved (bend, pixels of sag at the middle). Every third
// letter has an ascender, every fifth a descender, every seventh gap is a word
// space. All lengths scale with `x_height`.
struct LineSpec {
  int letters = 40;
  double x_height = 14;
  double slope = 0;
  double bend = 0;
  int margin_left = 3, margin_right = 3, margin_top = 3, margin_bottom = 3;
};

Image draw_line(const LineSpec& s) {
  const double xh = s.x_height, glyph = 0.6 * xh, gap = 0.3 * xh, space = 0.7 * xh;
  double length = 0;
  for (int i = 0; i < s.letters; ++i)
    length += glyph + (i % 7 == 6 ? space : gap);
  const double ascender = 0.75 * xh, descender = 0.5 * xh;
  const double drift = std::abs(s.slope) * length + std::abs(s.bend);
  const int width = static_cast<int>(std::ceil(length)) + s.margin_left + s.margin_right;
  const int height = static_cast<int>(std::ceil(xh + ascender + descender + drift)) + s.margin_top +
                     s.margin_bottom;
  Image img(width, height, 250);
  const double top0 = s.margin_top + ascender + (s.slope < 0 ? drift : 0) + std::abs(s.bend);
  auto baseline = [&](double x) {
    const double u = 2 * x / length - 1;
    return top0 + xh + s.slope * x - s.bend * (1 - u * u);
  };
  double x = 0;
  for (int i = 0; i < s.letters; ++i) {
    const double b = baseline(x + glyph / 2);
    const double top = b - xh - (i % 3 == 1 ? ascender : 0);
    const double bottom = b + (i % 5 == 3 ? descender : 0);
    for (int py = static_cast<int>(std::lround(top)); py < static_cast<int>(std::lround(bottom));
         ++py)
      for (int px = static_cast<int>(std::lround(x)); px < static_cast<int>(std::lround(x + glyph));
           ++px)
        img.at(s.margin_left + px, py) = 20;
    x += glyph + (i % 7 == 6 ? space : gap);
  }
  return img;
}

Preprocessing centered(int height = 32) {
  Preprocessing p;
  p.height = height;
  p.normalization = Preprocessing::Normalization::center_text;
  return p;
}

// Ink-weighted mean row of columns [x0, x1).
double mean_row(const LineTensor& l, int x0, int x1) {
  double m = 0, s = 0;
  for (int x = x0; x < x1; ++x)
    for (int y = 0; y < l.height; ++y) {
      m += l.at(x, y);
      s += l.at(x, y) * (y + 0.5);
    }
  return m > 0 ? s / m : l.height / 2.0;
}

// Largest distance of the windowed ink centre from the middle row.
double worst_centre_error(const LineTensor& l) {
  const int window = 3 * l.height;
  double worst = 0;
  for (int x0 = 0; x0 + window <= l.width; x0 += window / 2)
    worst = std::max(worst, std::abs(mean_row(l, x0, x0 + window) - l.height / 2.0));
  return worst;
}

// Rows whose ink exceeds half the busiest row's: the body's height in rows.
int body_rows(const LineTensor& l) {
  std::vector<double> rows(l.height, 0.0);
  for (int y = 0; y < l.height; ++y)
    for (int x = 0; x < l.width; ++x)
      rows[y] += l.at(x, y);
  const double peak = *std::max_element(rows.begin(), rows.end());
  return static_cast<int>(
      std::count_if(rows.begin(), rows.end(), [&](double r) { return r > peak / 2; }));
}

// Mean absolute difference of two tensors over the common width.
double mean_abs_diff(const LineTensor& a, const LineTensor& b) {
  const int w = std::min(a.width, b.width);
  double d = 0;
  for (int y = 0; y < a.height; ++y)
    for (int x = 0; x < w; ++x)
      d += std::abs(a.at(x, y) - b.at(x, y));
  return d / (w * a.height);
}

}  // namespace

TEST(CenterNormalization, StraightensSkewedAndCurvedLines) {
  for (auto [slope, bend] :
       {std::pair{0.0, 0.0}, {0.03, 0.0}, {-0.05, 0.0}, {0.0, 8.0}, {0.02, -6.0}}) {
    LineSpec spec;
    spec.letters = 80;
    spec.slope = slope;
    spec.bend = bend;
    const Image img = draw_line(spec);
    const LineTensor l = normalize_line(img, centered());
    EXPECT_LT(worst_centre_error(l), 1.5) << "slope " << slope << " bend " << bend;
    // The plain scaling leaves the drift in (the test can tell the two apart).
    if (slope != 0 || bend != 0) {
      Preprocessing plain;
      plain.height = 32;
      EXPECT_GT(worst_centre_error(normalize_line(img, plain)), 2.5);
    }
  }
}

TEST(CenterNormalization, MarginsDoNotChangeTheInput) {
  LineSpec tight;
  LineSpec loose = tight;
  loose.margin_left = 90;
  loose.margin_right = 150;
  loose.margin_top = 40;
  loose.margin_bottom = 70;
  const LineTensor a = normalize_line(draw_line(tight), centered());
  const LineTensor b = normalize_line(draw_line(loose), centered());
  EXPECT_NEAR(a.width, b.width, 1);
  EXPECT_LT(mean_abs_diff(a, b), 0.01);
  // Scaling the whole crop makes the loose line's text several times smaller.
  Preprocessing plain;
  plain.height = 32;
  EXPECT_GT(body_rows(normalize_line(draw_line(tight), plain)),
            2 * body_rows(normalize_line(draw_line(loose), plain)));
}

TEST(CenterNormalization, ResolutionDoesNotChangeTheInput) {
  LineSpec small;
  small.x_height = 12;
  LineSpec large = small;
  large.x_height = 36;
  large.margin_left = large.margin_right = large.margin_top = large.margin_bottom = 9;
  const LineTensor a = normalize_line(draw_line(small), centered());
  const LineTensor b = normalize_line(draw_line(large), centered());
  EXPECT_NEAR(a.width, b.width, 2);
  EXPECT_EQ(body_rows(a), body_rows(b));
  EXPECT_LT(mean_abs_diff(a, b), 0.06);
}

TEST(CenterNormalization, ColumnsMapBackToTheSource) {
  LineSpec spec;
  spec.margin_left = 57;
  const Image img = draw_line(spec);
  const LineTensor l = normalize_line(img, centered());
  int first = -1;
  for (int x = 0; x < l.width && first < 0; ++x)
    for (int y = 0; y < l.height; ++y)
      if (l.at(x, y) > 0.5f) {
        first = x;
        break;
      }
  ASSERT_GE(first, 0);
  EXPECT_NEAR(l.offset_x + (first + 0.5) * l.scale_x, 57, 2 * l.scale_x);
}

TEST(CenterNormalization, BlankTinyAndHugeLines) {
  // Blank: nothing to measure, the crop is scaled as a whole.
  const LineTensor blank = normalize_line(Image(200, 40, 255), centered());
  EXPECT_EQ(blank.width, 160);
  for (float v : blank.pixels)
    EXPECT_EQ(v, 0.0f);
  // One speck of ink: a small, finite input.
  Image speck(300, 50, 255);
  speck.at(150, 25) = speck.at(151, 25) = speck.at(150, 26) = speck.at(151, 26) = 0;
  const LineTensor s = normalize_line(speck, centered());
  EXPECT_GE(s.width, 1);
  EXPECT_LE(s.width, 64);
  for (float v : s.pixels)
    EXPECT_TRUE(std::isfinite(v));
  // A line wider than max_width once normalised is refused, naming the limit.
  LineSpec spec;
  spec.letters = 400;
  Preprocessing p = centered();
  p.max_width = 500;
  try {
    normalize_line(draw_line(spec), p);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the limit is 500"), std::string::npos) << e.what();
  }
}

TEST(CenterNormalization, BodyHasAFixedHeight) {
  std::vector<int> rows;
  for (double xh : {8.0, 14.0, 40.0}) {
    LineSpec spec;
    spec.x_height = xh;
    rows.push_back(body_rows(normalize_line(draw_line(spec), centered())));
  }
  const auto [lo, hi] = std::minmax_element(rows.begin(), rows.end());
  EXPECT_LE(*hi - *lo, 1);
  // A third to a quarter of the rows: room above and below for ascenders,
  // descenders and brackets.
  EXPECT_GE(*lo, 32 / 4);
  EXPECT_LE(*hi, 32 / 2);
}

// The fast passes (normalize.cpp) against the plain reference ones
// (text_geometry_reference.cpp): the geometry exactly (its sums are exact),
// the resampled pixels within float rounding.
TEST(CenterNormalization, FastPassesMatchTheReference) {
  std::mt19937 rng(17);
  std::array<float, 256> lut{};
  for (int v = 0; v < 256; ++v)
    lut[v] = std::clamp((230.0f - static_cast<float>(v)) / 200.0f, 0.0f, 1.0f);
  std::vector<Image> images;
  for (auto [slope, bend, xh] : {std::tuple{0.0, 0.0, 14.0},
                                 {0.03, 0.0, 9.0},
                                 {-0.05, 4.0, 22.0},
                                 {0.0, 8.0, 5.0},
                                 {0.02, -6.0, 40.0}}) {
    LineSpec spec;
    spec.letters = 60;
    spec.slope = slope;
    spec.bend = bend;
    spec.x_height = xh;
    images.push_back(draw_line(spec));
  }
  // Noise of every density, and degenerate shapes: a row, a column, a speck.
  for (const auto& [w, h] : {std::pair{300, 40}, {700, 25}, {90, 120}, {1, 50}, {400, 1}, {3, 3}}) {
    for (double density : {0.02, 0.3, 0.9}) {
      Image img(w, h, 250);
      std::bernoulli_distribution ink(density);
      std::uniform_int_distribution<int> level(0, 255);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          img.at(x, y) = ink(rng) ? static_cast<std::uint8_t>(level(rng) / 4) : 250;
      images.push_back(std::move(img));
    }
  }
  int measured = 0;
  for (std::size_t n = 0; n < images.size(); ++n) {
    const auto fast = detail::measure_text(images[n], lut);
    const auto ref = detail::measure_text_reference(images[n], lut);
    ASSERT_EQ(fast.has_value(), ref.has_value()) << "image " << n;
    if (!fast) continue;
    ++measured;
    for (int k = 0; k < 3; ++k)
      EXPECT_EQ(fast->coef[k], ref->coef[k]) << "image " << n;
    EXPECT_EQ(fast->u_center, ref->u_center);
    EXPECT_EQ(fast->u_scale, ref->u_scale);
    EXPECT_EQ(fast->radius, ref->radius) << "image " << n;
    EXPECT_EQ(fast->ink_begin, ref->ink_begin);
    EXPECT_EQ(fast->ink_end, ref->ink_end);
    for (int H : {16, 32, 48, 96}) {  // shrinking and enlarging
      const LineTensor a = detail::resample_centered(images[n], lut, *ref, H);
      const LineTensor b = detail::resample_centered_reference(images[n], lut, *ref, H);
      ASSERT_EQ(a.width, b.width);
      ASSERT_EQ(a.height, b.height);
      EXPECT_EQ(a.offset_x, b.offset_x);
      float worst = 0;
      for (std::size_t i = 0; i < a.pixels.size(); ++i)
        worst = std::max(worst, std::abs(a.pixels[i] - b.pixels[i]));
      EXPECT_LE(worst, 1e-6f) << "image " << n << " height " << H;
    }
  }
  EXPECT_GE(measured, 15);  // the comparison covered real geometry
}

// InkColumns tests the ink levels as one range, 16 pixels at a time; a set of
// levels that is not a range, and widths that are not multiples of 16, must
// give the reference's statistics too.
TEST(CenterNormalization, InkColumnsMatchTheReferenceForAnyInkLevels) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> level(0, 255);
  std::array<bool, 256> range{}, scattered{};
  for (int v = 0; v < 256; ++v) {
    range[v] = v >= 40 && v <= 90;
    scattered[v] = v <= 50 || (v >= 100 && v <= 120) || v == 255;
  }
  for (const auto& [w, h] : {std::pair{37, 11}, {16, 5}, {131, 29}, {1, 7}}) {
    Image img(w, h);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        img.at(x, y) = static_cast<std::uint8_t>(level(rng));
    for (const auto* levels : {&range, &scattered}) {
      const detail::InkColumns fast(img, *levels);
      const detail::InkColumnsReference ref(img, *levels);
      detail::TextGeometry g;
      g.coef[0] = h / 2.0;
      detail::InkProfile a, b;
      for (double band : {1e9, 2.0}) {
        EXPECT_EQ(fast.profile(g, band, a), ref.profile(g, band, b)) << w << "x" << h;
        EXPECT_EQ(a.mass, b.mass);
        EXPECT_EQ(a.sum_y, b.sum_y);
        EXPECT_EQ(a.sum_yy, b.sum_yy);
        EXPECT_EQ(fast.body_radius(g, band), ref.body_radius(g, band));
      }
    }
  }
}
