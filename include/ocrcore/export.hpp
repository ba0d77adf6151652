#pragma once

// libocrcore is built with hidden visibility: only what is marked OCRCORE_API
// is part of its ABI (and of the shared library's dynamic symbol table).
#if defined(_WIN32)
#define OCRCORE_API
#else
#define OCRCORE_API __attribute__((visibility("default")))
#endif
