#pragma once

#include <string>

#include "ocrcore/image.hpp"

namespace ocrcore::detail {

// The metadata key of a model's preprocessing, in model files and in ONNX
// files ocr-convert writes (docs/model-format.md).
inline constexpr const char* kPreprocessingKey = "ocrcore.preprocessing";

// The one JSON form of Preprocessing, written and read by every format.
std::string preprocessing_to_json(const Preprocessing& p);
// Throws Error naming the key and the setting at fault; settings absent from
// the JSON keep their defaults (the behaviour of files written before them).
Preprocessing preprocessing_from_json(const std::string& text, int height);

}  // namespace ocrcore::detail
