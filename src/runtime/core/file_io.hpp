#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace ocrcore {

// Where an output goes, decided from what its path names when it is opened.
enum class OutputKind {
  // "-" or /dev/stdout: standard output, written in place.
  standard_output,
  // A FIFO or a character device (a named pipe, /dev/null, a terminal):
  // written in place, streaming; never replaced.
  stream,
  // A regular file or a new path: a temporary file in the directory of the
  // real target (a symlink is followed and kept; its target is replaced),
  // renamed over it by commit(), so a reader sees the old file or the whole
  // new one, never a part. The replaced file's permissions are kept.
  replace_file,
};

// The one way every tool and the library write an output (results, reports,
// models, checkpoints, logs, rendered lines). Every write, flush, sync and
// close is checked; a failure throws Error naming the file and the reason.
// A directory, a block device or a socket is refused. An output dropped
// without commit() leaves nothing behind (a replace_file's temporary file is
// removed, the old file stays).
class OutputFile {
 public:
  explicit OutputFile(const std::filesystem::path& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(std::string_view bytes);
  // Hands buffered bytes to the file (a stream's reader sees them now).
  void flush();
  // Finishes the output: flushes; a replaced file is synced to disk and
  // renamed into place. Throws Error on any failure.
  void commit();
  // A std::ostream over write(); its failures surface as Error from the next
  // flush() or commit() (the stream's own state is also set).
  std::ostream& stream();

  OutputKind kind() const { return kind_; }
  // The path as given, for messages.
  const std::string& name() const { return name_; }
  // The file written in the end: the symlink's target for a symlink.
  const std::filesystem::path& target() const { return target_; }

 private:
  class Buffer;
  void write_all(const char* data, std::size_t size);
  void fail(const std::string& what, int error) const;

  std::string name_;
  std::filesystem::path target_, temporary_;
  OutputKind kind_ = OutputKind::replace_file;
  int fd_ = -1;
  std::string buffer_;
  std::string deferred_error_;  // a write error of stream() not yet reported
  bool committed_ = false;
  std::unique_ptr<Buffer> streambuf_;
  std::unique_ptr<std::ostream> ostream_;
};

// Writes `path` in one go through OutputFile: `write` fills it, then it is
// committed. A regular file is replaced atomically (an interruption at any
// point leaves the old file or the new one, never a partial file); a FIFO or
// character device is written in place. Throws Error naming the file.
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
