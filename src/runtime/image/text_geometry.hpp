// center_text normalisation, internals: the geometry of a line's text body and
// the two passes over the image that measure it and resample by it. Each pass
// has a plain reference implementation (text_geometry_reference.cpp) beside the
// fast one (normalize.cpp); tests compare them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "ocrcore/image.hpp"

namespace ocrcore::detail {

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

// Per column, the ink within `band` of a centre line: its pixel count and the
// sums of its row centres (y + 0.5) and their squares.
struct InkProfile {
  std::vector<double> mass, sum_y, sum_yy;
};

// The levels that count as ink: lut value >= 0.5.
std::array<bool, 256> ink_levels(const std::array<float, 256>& lut);

// The ink mask's column statistics, pixel by pixel as the definition reads.
class InkColumnsReference {
 public:
  InkColumnsReference(const ImageView& image, const std::array<bool, 256>& is_ink)
      : image_(image), is_ink_(is_ink) {}
  int width() const { return image_.width; }
  int height() const { return image_.height; }
  // Fills `out` for the ink with |y + 0.5 - c(x + 0.5)| <= band; returns its total mass.
  double profile(const TextGeometry& g, double band, InkProfile& out) const;
  // Mean |y + 0.5 - c(x + 0.5)| of that ink (0 without ink).
  double body_radius(const TextGeometry& g, double band) const;

 private:
  ImageView image_;
  const std::array<bool, 256>& is_ink_;
};

// The same statistics from the ink pixels alone, listed column by column in
// row order: the sums run over the same values in the same order as the
// reference's, so the results are identical, at a fraction of the cost (ink
// is a small part of a line). Rows are 16-bit: taller images use the reference.
class InkColumns {
 public:
  static constexpr int kMaxHeight = 65535;
  InkColumns(const ImageView& image, const std::array<bool, 256>& is_ink);
  int width() const { return width_; }
  int height() const { return height_; }
  double profile(const TextGeometry& g, double band, InkProfile& out) const;
  double body_radius(const TextGeometry& g, double band) const;

 private:
  int width_ = 0, height_ = 0;
  std::vector<std::size_t> begin_;  // column x's ink rows: rows_[begin_[x] .. begin_[x + 1])
  std::vector<std::uint16_t> rows_;
};

// The robust centre-line fit over a mask's column statistics (Columns is
// InkColumns or InkColumnsReference; instantiated for both in normalize.cpp).
template <class Columns>
std::optional<TextGeometry> fit_text_geometry(const Columns& columns);

// Centre line and body radius of the ink (levels whose lut value is >= 0.5);
// nothing when there is too little ink to measure.
std::optional<TextGeometry> measure_text(const ImageView& image, const std::array<float, 256>& lut);
std::optional<TextGeometry> measure_text_reference(const ImageView& image,
                                                   const std::array<float, 256>& lut);

// Half the output height in body radii. Ascenders and descenders reach about
// 2.8 r in roman type; 3.5 keeps all of them and brackets with room to spare.
constexpr double kBandRadii = 3.5;
// Margin kept left and right of the ink, in body radii (about one x-height).
constexpr double kMarginRadii = 2.0;

// The source columns [x0, x1) the output spans and its scale (output pixels
// per source pixel) for a model height H.
struct CenteredFrame {
  double scale, x0, x1;
  long long width() const;
  // The output, H rows of width() zeros, with the column mapping recorded.
  LineTensor blank_output(int H) const;
};
CenteredFrame centered_frame(const TextGeometry& g, int H);

// The frame resampled to H rows along the centre line (the caller has checked
// its width).
LineTensor resample_centered(const ImageView& image, const std::array<float, 256>& lut,
                             const TextGeometry& g, int H);
LineTensor resample_centered_reference(const ImageView& image, const std::array<float, 256>& lut,
                                       const TextGeometry& g, int H);

}  // namespace ocrcore::detail
