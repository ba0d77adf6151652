#include "ocrcore/error.hpp"

namespace ocrcore {

Error::~Error() = default;

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::bad_input:
      return "bad input";
    case ErrorKind::bad_model:
      return "bad model";
    case ErrorKind::io:
      return "I/O";
    case ErrorKind::unsupported:
      return "unsupported";
    case ErrorKind::internal:
      return "internal";
  }
  return "internal";
}

}  // namespace ocrcore
