#include "batch_process.hpp"

#include <cstdio>
#include <cstdlib>  // also defines __GLIBC__ on glibc systems
#include <iostream>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ocrcore::tools {

void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  // Blocks up to 32 MB come from the heap, and up to 128 MB of free heap top
  // stays mapped (glibc's defaults: 128 KB, raised as large blocks are freed).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
#endif
}

int exit_without_teardown(int code) {
#if defined(__SANITIZE_ADDRESS__)
  return code;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return code;
#endif
#endif
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  std::_Exit(code);
}

}  // namespace ocrcore::tools
