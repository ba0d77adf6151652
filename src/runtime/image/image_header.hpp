#pragma once

#include <filesystem>
#include <optional>

namespace ocrcore::detail {

struct ImageSize {
  int width = 0, height = 0;
};

// The size an image file's header states (the first page of a TIFF), read
// without decoding the image; nullopt when the file cannot be read or is not
// an image in a known format. For planning (training batches by width), not
// for trusting: decoding checks the image itself.
std::optional<ImageSize> read_image_size(const std::filesystem::path& path);

}  // namespace ocrcore::detail
