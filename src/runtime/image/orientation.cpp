#include "runtime/image/orientation.hpp"

#include "ocrcore/error.hpp"

namespace ocrcore::detail {

float reading_confidence(const LineResult& result) {
  if (result.chars.empty()) return 0.0f;
  double sum = 0;
  for (const CharResult& c : result.chars)
    sum += c.confidence;
  return static_cast<float>(sum / static_cast<double>(result.chars.size()));
}

std::vector<int> turns_to_try(const ImageView& image, const LineResult& upright) {
  if (reading_confidence(upright) >= kOrientationDoubt) return {};
  // A line of text is wider than tall unless it runs vertically (or holds a
  // character or two, which a quarter turn reads no better).
  if (image.height > image.width) return {90, 270};
  return {180};
}

Image rotate_image(const ImageView& image, int degrees) {
  const int w = image.width, h = image.height;
  switch (degrees) {
    case 0: {
      Image out(w, h);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          out.at(x, y) = image.at(x, y);
      return out;
    }
    case 90: {  // clockwise: the left column becomes the top row
      Image out(h, w);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          out.at(h - 1 - y, x) = image.at(x, y);
      return out;
    }
    case 180: {
      Image out(w, h);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          out.at(w - 1 - x, h - 1 - y) = image.at(x, y);
      return out;
    }
    case 270: {
      Image out(h, w);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          out.at(y, w - 1 - x) = image.at(x, y);
      return out;
    }
    default:
      throw Error(
          "rotate_image: " + std::to_string(degrees) + " degrees (0, 90, 180 or 270 expected)",
          ErrorKind::internal);
  }
}

bool better_reading(const LineResult& turned, const LineResult& current) {
  const float c = reading_confidence(turned);
  return c >= kOrientationDoubt && c > reading_confidence(current);
}

}  // namespace ocrcore::detail
