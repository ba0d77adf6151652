#pragma once

// Reading lines that are not upright (a rotated table header, a figure
// label, a margin note, a page scanned upside down): which turns to try for
// a line the network doubts, and turning an image. The decision uses the
// model's own evidence, the confidence of its reading (README: Orientation).

#include <vector>

#include "ocrcore/image.hpp"
#include "ocrcore/types.hpp"

namespace ocrcore::detail {

// A reading whose characters' mean confidence is below this is doubted and
// the line is read turned as well; a turned reading replaces it only when it
// reaches this confidence itself. Chosen on 400 rendered scan-like lines
// (the compact model): 2.3% of upright lines fall below it, no line turned
// by 180 degrees reaches it.
inline constexpr float kOrientationDoubt = 0.93f;

// The mean confidence of a reading's characters; 0 for an empty reading.
float reading_confidence(const LineResult& result);

// The clockwise turns (90, 180, 270) that may make a doubted line upright:
// for an image taller than wide (text running vertically) a quarter turn
// either way, else a half turn. Empty for a reading not doubted.
std::vector<int> turns_to_try(const ImageView& image, const LineResult& upright);

// `image` turned clockwise by `degrees` (0, 90, 180 or 270).
Image rotate_image(const ImageView& image, int degrees);

// Whether `turned`, the reading of the line turned, should replace `current`.
bool better_reading(const LineResult& turned, const LineResult& current);

}  // namespace ocrcore::detail
