#include "ocrcore/error.hpp"

namespace ocrcore {

Error::~Error() = default;

}  // namespace ocrcore
