#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <string_view>

namespace ocrcore {

// Writes `path` atomically: `write` fills a temporary file beside it, which is
// flushed to disk and renamed over `path`. An interruption at any point leaves
// either the old file or the new one, never a partial file. Throws Error.
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& write);
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

}  // namespace ocrcore
