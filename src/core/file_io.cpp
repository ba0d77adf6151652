#include "core/file_io.hpp"

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

void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& write) {
  static std::atomic<unsigned> counter{0};
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) throw Error(tmp.string() + ": cannot create: " + errno_text());
      write(out);
      out.flush();
      if (!out) throw Error(tmp.string() + ": write failed: " + errno_text());
    }
    // The data must be on disk before the rename makes it visible.
    int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
      if (fd >= 0) ::close(fd);
      throw Error(tmp.string() + ": cannot flush to disk: " + errno_text());
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw Error(path.string() + ": cannot replace with " + tmp.string() + ": " + errno_text());
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
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
  if (fd_ < 0) throw Error(name_ + ": cannot open: " + errno_text());
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw Error(name_ + ": not a regular file");
  }
}

OpenFile::~OpenFile() {
  ::close(fd_);
}

std::size_t OpenFile::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw Error(name_ + ": cannot read its size: " + errno_text());
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
  if (p == MAP_FAILED) throw Error(file.name() + ": cannot map into memory: " + errno_text());
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
  if (!in) throw Error(path.string() + ": cannot open: " + errno_text());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(path.string() + ": read failed");
  return ss.str();
}

}  // namespace detail
}  // namespace ocrcore
