#include "runtime/engines/engine.hpp"

#include "ocrcore/error.hpp"

namespace ocrcore::detail {

void check_line_heights(const CompiledNetwork& network, std::span<const LineTensor> lines) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const LineTensor& l = lines[i];
    if (l.height != network.input_height || l.width < 1 ||
        l.pixels.size() != static_cast<std::size_t>(l.height) * l.width)
      throw Error("line " + std::to_string(i) + " is " + std::to_string(l.width) + "x" +
                  std::to_string(l.height) + " but the model needs height " +
                  std::to_string(network.input_height) + " (use normalize_line)");
  }
}

}  // namespace ocrcore::detail
