#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>

#include "ocrcore/atomic_file.hpp"

namespace ocrcore::detail {

// A read-only memory mapping of a whole file. Throws Error naming the file.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// Whole file as a string; throws Error naming the file.
std::string read_text_file(const std::filesystem::path& path);

}  // namespace ocrcore::detail
