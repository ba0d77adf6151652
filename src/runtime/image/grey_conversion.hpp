#pragma once

// Colour to 8-bit grey as leptonica converts it (its luminance weights,
// rounded), with alpha composited on white paper so that transparent areas
// are not read as ink. One place for both decoders (png_decode.cpp,
// image_io.cpp).

#include <cstdint>

namespace ocrcore::detail {

// `w` pixels of R, G, B, A bytes to `w` grey bytes.
void rgba_row_on_white(const std::uint8_t* rgba, int w, std::uint8_t* out);
// `w` pixels of R, G, B bytes to `w` grey bytes.
void rgb_row(const std::uint8_t* rgb, int w, std::uint8_t* out);

}  // namespace ocrcore::detail
