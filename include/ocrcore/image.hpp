#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "ocrcore/export.hpp"

namespace ocrcore {

// Non-owning view of an 8-bit grey image held by the caller. `stride` is the
// distance in bytes between the starts of two rows (>= width).
struct ImageView {
  const std::uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  std::ptrdiff_t stride = 0;

  ImageView() = default;
  ImageView(const std::uint8_t* pixels, int w, int h, std::ptrdiff_t row_stride = 0)
      : data(pixels), width(w), height(h), stride(row_stride ? row_stride : w) {}
  std::uint8_t at(int x, int y) const { return data[y * stride + x]; }
  bool empty() const { return width <= 0 || height <= 0 || data == nullptr; }
};

// Owned 8-bit grey image, rows packed (stride == width).
class OCRCORE_API Image {
 public:
  Image() = default;
  Image(int width, int height, std::uint8_t fill = 255);

  int width() const { return width_; }
  int height() const { return height_; }
  std::uint8_t* data() { return pixels_.data(); }
  const std::uint8_t* data() const { return pixels_.data(); }
  std::uint8_t& at(int x, int y) { return pixels_[static_cast<std::size_t>(y) * width_ + x]; }
  std::uint8_t at(int x, int y) const { return pixels_[static_cast<std::size_t>(y) * width_ + x]; }
  ImageView view() const { return ImageView(pixels_.data(), width_, height_, width_); }
  operator ImageView() const { return view(); }  // NOLINT: an image is usable where a view is

 private:
  int width_ = 0;
  int height_ = 0;
  std::vector<std::uint8_t> pixels_;
};

// Largest image (width x height) decoded by default: a whole page at 600 dpi
// is 35 megapixels; a text line is far below. Decoding costs up to 6 bytes
// per pixel, so this bounds memory near 600 MB; a file whose header claims
// more is refused before anything is allocated. Raise it per call.
inline constexpr std::int64_t kDefaultMaxImagePixels = std::int64_t{100} << 20;

// Reads PNG, JPEG, TIFF, PNM (PBM/PGM/PPM), BMP, WebP files of 1, 2, 4, 8 or 16
// bits per sample, grey, RGB(A) or palette, and converts them to 8-bit grey.
// Throws Error naming the file when it cannot be read or decoded, or when it
// holds more than `max_pixels` pixels.
OCRCORE_API Image load_image(const std::filesystem::path& path,
                             std::int64_t max_pixels = kDefaultMaxImagePixels);
// A multi-page TIFF is refused with an error that says so (never its first
// page silently): each of its pages is a line image of its own.
// The same from bytes in memory; `name` is used in error messages.
OCRCORE_API Image decode_image(std::span<const std::uint8_t> bytes, std::string_view name,
                               std::int64_t max_pixels = kDefaultMaxImagePixels);
// How many images a file holds: the pages of a TIFF, 1 for other formats.
// Throws Error naming the file when it cannot be read.
OCRCORE_API int count_image_pages(const std::filesystem::path& path);
// Page `page` (0-based) of a file, as load_image reads an image.
OCRCORE_API Image load_image_page(const std::filesystem::path& path, int page,
                                  std::int64_t max_pixels = kDefaultMaxImagePixels);
// Writes an 8-bit grey PNG atomically (temporary file, flush, rename).
OCRCORE_API void save_png(const std::filesystem::path& path, const ImageView& image);

// One line image on disk: page `page` (0-based) of a file that holds several
// (a multi-page TIFF), or with page -1 the file's only image (load_image).
struct ImageFile {
  std::filesystem::path path;
  int page = -1;
};

// How a line image becomes network input.
struct Preprocessing {
  enum class Polarity { automatic, dark_on_light, light_on_dark };
  // How the line is brought to `height` rows:
  //  scale_crop: the whole image is scaled to `height`, so the size of the text
  //    depends on the crop's margins (every model file without the setting);
  //  center_text: the text itself is measured: its centre line (following skew
  //    and slight curvature) goes to the middle row, its body height to a fixed
  //    number of rows, and the margins are cut to a fixed width, so tight scans
  //    and loosely cropped lines look alike.
  enum class Normalization { scale_crop, center_text };
  int height = 32;                          // model input height
  Polarity polarity = Polarity::automatic;  // automatic: the median pixel is background
  bool stretch_contrast = true;             // map background to 0 and darkest ink to 1
  int max_width = 16384;                    // widest normalised line accepted
  Normalization normalization = Normalization::scale_crop;
};

// A line ready for the network: `height` x `width` floats, row-major,
// background 0 and ink positive. Normalised column x came from source column
// offset_x + x * scale_x.
struct LineTensor {
  int height = 0;
  int width = 0;
  float scale_x = 1.0f;
  float offset_x = 0.0f;
  std::vector<float> pixels;
  float at(int x, int y) const { return pixels[static_cast<std::size_t>(y) * width + x]; }
};

// Converts to network input: polarity, contrast, then the geometry of
// `settings.normalization` with the aspect ratio kept (area averaging when
// shrinking, linear interpolation when enlarging).
// Throws Error for empty images or lines wider than `max_width` once normalised.
OCRCORE_API LineTensor normalize_line(const ImageView& image, const Preprocessing& settings);

}  // namespace ocrcore
