#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace ocrcore {

// Writes `path` atomically: `write` fills a temporary file beside it, which is
// flushed to disk and renamed over `path`. An interruption at any point leaves
// either the old file or the new one, never a partial file. Throws Error.
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& write);
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Removes the temporary files that writes of write_file_atomic left in `dir`
// when their process was killed (its PID, in the name, no longer runs), so
// that runs resumed after crashes do not pile them up. Returns how many.
int remove_stale_temporary_files(const std::filesystem::path& dir);

}  // namespace ocrcore

namespace ocrcore::detail {

// A regular file opened for reading. The descriptor follows the file, not
// the path: renaming or replacing the path later leaves what it reads
// unchanged. Throws Error naming the file.
class OpenFile {
 public:
  explicit OpenFile(const std::filesystem::path& path);
  ~OpenFile();
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  // The file's size now (it may have been rewritten in place since it was opened).
  std::size_t size() const;

 private:
  int fd_ = -1;
  std::string name_;
};

// A read-only memory mapping of a whole file. Throws Error naming the file.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  explicit MappedFile(const OpenFile& file);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  // Gives back the memory of the whole pages inside [offset, offset + length)
  // once they have been read: a later read of them reads the file again. Keeps
  // a loader that copies a file piece by piece from holding it twice.
  void release(std::size_t offset, std::size_t length) const;

 private:
  void map(const OpenFile& file);
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// Whole file as a string; throws Error naming the file.
std::string read_text_file(const std::filesystem::path& path);

}  // namespace ocrcore::detail
