#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "ocrcore/export.hpp"

namespace ocrcore {

// What an Error is about, for callers that act on it (skip the line, reload
// the model, retry later, report a bug) rather than only show it.
enum class ErrorKind {
  bad_input,    // what the caller passed: an image, a list, an argument, a setting
  bad_model,    // a model or language-model file (or parts) that is not valid
  io,           // reading or writing a file failed: missing, permissions, disk full
  unsupported,  // valid, but this CPU or build cannot run it (int8 without VNNI, ...)
  internal,     // a bug in ocrcore, or a library under it failing (oneDNN)
};

// "bad input", "bad model", "I/O", "unsupported", "internal".
OCRCORE_API std::string_view error_kind_name(ErrorKind kind);

// The one exception type of the library. Messages say what went wrong and
// where (file name, tensor name, layer index, ...), so callers can show them
// to a user as they are; kind() says which of the kinds above it is.
class OCRCORE_API Error : public std::runtime_error {
 public:
  // bad_input unless said otherwise: most errors are about what was passed.
  explicit Error(const std::string& message, ErrorKind kind = ErrorKind::bad_input)
      : std::runtime_error(message), kind_(kind) {}
  // Out of line: the library holds the one vtable and typeinfo of Error.
  ~Error() override;
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace ocrcore
