#include "tool_main.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

namespace ocrcore::tools {

namespace {

void hold_closed_standard_streams() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // open() returns the lowest free number: this one.
    const int held = ::open("/dev/null", (fd == 0 ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
    if (held != fd && held >= 0) ::close(held);
  }
}

}  // namespace

int run_tool(const char* name, int argc, char** argv, int (*body)(int, char**)) {
  hold_closed_standard_streams();
  int code = body(argc, argv);
  std::cout.flush();
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  const int error = errno;
  if (!flushed || std::ferror(stdout) || !std::cout) {
    std::fprintf(stderr, "%s: standard output: write error%s%s\n", name, error ? ": " : "",
                 error ? std::strerror(error) : "");
    if (code == 0) code = 1;
  }
  return code;
}

}  // namespace ocrcore::tools
