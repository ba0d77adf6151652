#pragma once

#include <stdexcept>
#include <string>

#include "ocrcore/export.hpp"

namespace ocrcore {

// The one exception type of the library. Messages say what went wrong and
// where (file name, tensor name, layer index, ...), so callers can show them
// to a user as they are.
class OCRCORE_API Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  // Out of line: the library holds the one vtable and typeinfo of Error.
  ~Error() override;
};

}  // namespace ocrcore
