// Image files (PNG, JPEG, TIFF, PNM, BMP, WebP through Leptonica) and the
// line normalisation after them: an input decodes to an image of the size it
// says, which normalises to the network's height, or is refused with
// ocrcore::Error.
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocrcore;
  Image image;
  try {
    image = decode_image(std::span<const std::uint8_t>(data, size), "fuzz-image");
  } catch (const Error& e) {
    fuzz::check_error_names(e, "fuzz-image");
    return 0;
  }
  fuzz::check(image.width() > 0 && image.height() > 0, "decoded an empty image");
  // Every pixel is readable (ASan reports a short buffer).
  unsigned sum = 0;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x)
      sum += image.at(x, y);
  (void)sum;
  for (auto n :
       {Preprocessing::Normalization::scale_crop, Preprocessing::Normalization::center_text}) {
    Preprocessing p;
    p.height = 32;
    p.normalization = n;
    try {
      const LineTensor t = normalize_line(image, p);
      fuzz::check(t.height == p.height && t.width > 0 && t.width <= p.max_width,
                  "normalised to " + std::to_string(t.width) + "x" + std::to_string(t.height));
      fuzz::check(t.pixels.size() == static_cast<std::size_t>(t.width) * t.height,
                  "pixel count differs from the size");
      for (float v : t.pixels)
        fuzz::check(std::isfinite(v), "a normalised pixel is not finite");
    } catch (const Error&) {
    }
  }
  return 0;
}
