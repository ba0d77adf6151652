#pragma once

// libocrcore is built with hidden visibility: only what is marked OCRCORE_API
// is part of its ABI (and of the shared library's dynamic symbol table).
// OCRCORE_LOCAL keeps a private member of an exported class out of it (a
// class's visibility covers all its members otherwise).
#if defined(_WIN32)
#define OCRCORE_API
#define OCRCORE_LOCAL
#else
#define OCRCORE_API __attribute__((visibility("default")))
#define OCRCORE_LOCAL __attribute__((visibility("hidden")))
#endif
