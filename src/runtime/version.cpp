#include "ocrcore/version.hpp"

namespace ocrcore {

const char* version() {
  return OCRCORE_VERSION_STRING;
}

}  // namespace ocrcore
