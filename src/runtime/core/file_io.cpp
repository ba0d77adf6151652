#include "runtime/core/file_io.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ocrcore/error.hpp"

namespace ocrcore {

namespace {
std::string errno_text() {
  return std::strerror(errno);
}
}  // namespace

namespace {

namespace fs = std::filesystem;

// The file `path` finally names, following symlinks (relative targets are
// relative to the link's directory). It need not exist: a dangling link names
// the file it would create.
fs::path resolve_symlinks(const fs::path& path) {
  fs::path p = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    std::error_code ec;
    const fs::path link = fs::read_symlink(p, ec);
    if (ec)
      throw Error(path.string() + ": cannot read the symbolic link: " + ec.message(),
                  ErrorKind::io);
    p = link.is_absolute() ? link : p.parent_path() / link;
  }
  throw Error(path.string() + ": too many levels of symbolic links", ErrorKind::io);
}

constexpr std::size_t kOutputBufferBytes = 1 << 16;

}  // namespace

// Appends to the OutputFile's buffer; a failure to write it out is kept and
// reported by the next flush() or commit(), as streams cannot throw through
// every caller.
class OutputFile::Buffer : public std::streambuf {
 public:
  explicit Buffer(OutputFile& out) : out_(out) {}

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    const char ch = traits_type::to_char_type(c);
    return put(&ch, 1) ? c : traits_type::eof();
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    return put(s, static_cast<std::size_t>(n)) ? n : 0;
  }
  int sync() override { return put(nullptr, 0) ? 0 : -1; }

 private:
  bool put(const char* s, std::size_t n) {
    if (!out_.deferred_error_.empty()) return false;
    try {
      if (n) out_.buffer_.append(s, n);
      if (out_.buffer_.size() >= kOutputBufferBytes) out_.flush();
      return true;
    } catch (const Error& e) {
      out_.deferred_error_ = e.what();
      return false;
    }
  }
  OutputFile& out_;
};

OutputFile::OutputFile(const std::filesystem::path& path) : name_(path.string()) {
  if (name_.empty()) throw Error("output path is empty");
  if (name_ == "-" || path == "/dev/stdout") {
    kind_ = OutputKind::standard_output;
    target_ = path;
    fd_ = STDOUT_FILENO;
    return;
  }
  target_ = resolve_symlinks(path);
  struct stat st {};
  bool exists = false;
  if (::stat(target_.c_str(), &st) == 0) {
    exists = true;
    if (S_ISDIR(st.st_mode)) throw Error(name_ + ": is a directory", ErrorKind::io);
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
      kind_ = OutputKind::stream;
      fd_ = ::open(target_.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
      if (fd_ < 0) fail("cannot open for writing", errno);
      return;
    }
    if (!S_ISREG(st.st_mode))
      throw Error(
          name_ + ": not a regular file, FIFO or character device; refusing to write over it",
          ErrorKind::io);
  } else if (errno != ENOENT) {
    fail("cannot inspect", errno);
  }
  kind_ = OutputKind::replace_file;
  static std::atomic<unsigned> counter{0};
  temporary_ = target_;
  temporary_ += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    const int error = errno;
    fs::path dir = target_.parent_path();
    if (dir.empty()) dir = ".";
    fail("cannot create a file in '" + dir.string() + "'", error);
  }
  // The replaced file's permissions stay (a file made private stays private).
  if (exists && ::fchmod(fd_, st.st_mode & 07777) != 0) {
    const int error = errno;
    ::close(fd_);
    ::unlink(temporary_.c_str());
    fd_ = -1;
    fail("cannot set the permissions of the new file", error);
  }
}

OutputFile::~OutputFile() {
  if (committed_) return;
  if (kind_ == OutputKind::replace_file) {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(temporary_.c_str());
    return;
  }
  // A stream keeps what its reader already has; the rest goes out if it can.
  try {
    flush();
  } catch (const Error&) {  // dropped without commit: its caller reports the failure
  }
  if (kind_ == OutputKind::stream && fd_ >= 0) ::close(fd_);
}

void OutputFile::fail(const std::string& what, int error) const {
  std::string who = name_;
  if (kind_ != OutputKind::standard_output && target_ != fs::path(name_))
    who += " (-> " + target_.string() + ")";
  if (kind_ == OutputKind::standard_output) who = "standard output";
  throw Error(who + ": " + what + ": " + std::strerror(error), ErrorKind::io);
}

void OutputFile::write_all(const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd_, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write error", errno);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void OutputFile::write(std::string_view bytes) {
  if (committed_) throw Error(name_ + ": written after it was finished", ErrorKind::internal);
  if (!deferred_error_.empty()) flush();  // throws it
  buffer_.append(bytes);
  if (buffer_.size() >= kOutputBufferBytes) flush();
}

void OutputFile::flush() {
  if (!deferred_error_.empty()) {
    buffer_.clear();
    throw Error(deferred_error_, ErrorKind::io);
  }
  if (buffer_.empty()) return;
  std::string pending;
  pending.swap(buffer_);
  write_all(pending.data(), pending.size());
}

void OutputFile::commit() {
  if (committed_) return;
  if (ostream_) ostream_->flush();
  flush();
  if (kind_ == OutputKind::replace_file) {
    // The data must be on disk before the rename makes it visible.
    if (::fsync(fd_) != 0) fail("cannot flush to disk", errno);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("write error on close", errno);
    if (::rename(temporary_.c_str(), target_.c_str()) != 0) fail("cannot replace", errno);
    committed_ = true;
    return;
  }
  committed_ = true;
  if (kind_ == OutputKind::stream) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("write error on close", errno);
  }
}

std::ostream& OutputFile::stream() {
  if (!ostream_) {
    streambuf_ = std::make_unique<Buffer>(*this);
    ostream_ = std::make_unique<std::ostream>(streambuf_.get());
  }
  return *ostream_;
}

void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& write) {
  OutputFile out(path);
  write(out.stream());
  out.commit();
}

int remove_stale_temporary_files(const std::filesystem::path& dir) {
  int removed = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    // NAME.tmp.PID.N, as write_file_atomic names them.
    const std::string name = e.path().filename().string();
    const auto at = name.rfind(".tmp.");
    if (at == std::string::npos) continue;
    const std::string rest = name.substr(at + 5);
    const auto dot = rest.find('.');
    if (dot == 0 || dot > 9 || dot == std::string::npos || dot + 1 == rest.size() ||
        rest.find_first_not_of("0123456789.") != std::string::npos ||
        rest.find('.', dot + 1) != std::string::npos)
      continue;
    const long pid = std::stol(rest.substr(0, dot));
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // still running
    std::error_code ignored;
    removed += std::filesystem::remove(e.path(), ignored) ? 1 : 0;
  }
  return removed;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  });
}

namespace detail {

OpenFile::OpenFile(const std::filesystem::path& path) : name_(path.string()) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error(name_ + ": cannot open: " + errno_text(), ErrorKind::io);
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw Error(name_ + ": not a regular file", ErrorKind::io);
  }
}

OpenFile::~OpenFile() {
  ::close(fd_);
}

std::size_t OpenFile::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0)
    throw Error(name_ + ": cannot read its size: " + errno_text(), ErrorKind::io);
  return static_cast<std::size_t>(st.st_size);
}

MappedFile::MappedFile(const std::filesystem::path& path) {
  map(OpenFile(path));
}

MappedFile::MappedFile(const OpenFile& file) {
  map(file);
}

void MappedFile::map(const OpenFile& file) {
  size_ = file.size();
  if (size_ == 0) return;
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, file.fd(), 0);
  if (p == MAP_FAILED)
    throw Error(file.name() + ": cannot map into memory: " + errno_text(), ErrorKind::io);
  data_ = static_cast<const std::uint8_t*>(p);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

void MappedFile::release(std::size_t offset, std::size_t length) const {
  if (!data_ || offset >= size_) return;
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t begin = (offset + page - 1) / page * page;
  const std::size_t end = std::min(offset + length, size_) / page * page;
  // A private mapping that was only read: its pages come back from the file.
  if (end > begin) ::madvise(const_cast<std::uint8_t*>(data_) + begin, end - begin, MADV_DONTNEED);
}

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open: " + errno_text(), ErrorKind::io);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(path.string() + ": read failed", ErrorKind::io);
  return ss.str();
}

}  // namespace detail
}  // namespace ocrcore
