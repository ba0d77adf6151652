#pragma once

#include <span>
#include <vector>

#include "nn/compiled_network.hpp"
#include "ocrcore/image.hpp"
#include "ocrcore/recognizer.hpp"

namespace ocrcore::detail {

// Runs a compiled network on a batch of normalised lines. An engine owns
// scratch memory and is used by one thread at a time.
class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::vector<LogProbs> forward(std::span<const LineTensor> lines) = 0;
};

std::unique_ptr<Engine> make_reference_engine(const CompiledNetwork& network, int threads);
std::unique_ptr<Engine> make_onednn_engine(const CompiledNetwork& network, int threads);

// Checks that each line has the network's input height; throws Error naming
// the line otherwise.
void check_line_heights(const CompiledNetwork& network, std::span<const LineTensor> lines);

}  // namespace ocrcore::detail
