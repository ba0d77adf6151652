#pragma once

// PNG decoding for the common line-image types (8-bit grey, RGB and RGBA, not
// interlaced, no transparency chunk) straight to 8-bit grey; every other PNG
// goes to leptonica's general reader. The values are leptonica's
// (grey_conversion.hpp).
//
// decode_png_8bit reads the chunks itself, inflates the image data in one
// call to libdeflate and undoes the row filters in place: on the RGBA scans of
// uw3, libpng's row-by-row reading through zlib was a fifth of ocr-infer's
// time (benchmarks/results/program_profile.md). decode_png_8bit_reference is
// the plain decoder, libpng's rows; the tests compare the two.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "ocrcore/image.hpp"

namespace ocrcore::detail {

// The image, or nullopt when `bytes` is a PNG of another kind. Throws Error
// naming `where` when the file is corrupt or holds more than `max_pixels`
// pixels.
std::optional<Image> decode_png_8bit(std::span<const std::uint8_t> bytes, const std::string& where,
                                     std::int64_t max_pixels);

// The same through libpng (nullopt also when libpng cannot start).
std::optional<Image> decode_png_8bit_reference(std::span<const std::uint8_t> bytes,
                                               const std::string& where, std::int64_t max_pixels);

}  // namespace ocrcore::detail
