#pragma once

// PNG decoding straight from libpng's rows for the common line-image types
// (8-bit grey, RGB and RGBA, not interlaced): leptonica's reader builds a
// 32-bit image first and was a sixth of ocr-infer's time on the RGBA scans of
// uw3. The values are leptonica's (grey_conversion.hpp), which decodes
// everything else.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "ocrcore/image.hpp"

namespace ocrcore::detail {

// The image, or nullopt when `bytes` is a PNG of another kind (or libpng
// cannot start). Throws Error naming `where` when the file is corrupt or
// holds more than `max_pixels` pixels.
std::optional<Image> decode_png_8bit(std::span<const std::uint8_t> bytes, const std::string& where,
                                     std::int64_t max_pixels);

}  // namespace ocrcore::detail
