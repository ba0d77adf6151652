#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ocrcore/cpu.hpp"
#include "ocrcore/image.hpp"
#include "ocrcore/model.hpp"
#include "ocrcore/types.hpp"
#include "runtime/graph/compiled_network.hpp"
#include "runtime/graph/quantization.hpp"

namespace ocrcore::detail {

// A form of a model's weights that an engine prepares once (packed,
// reordered, composed) and shares between all its instances on the model:
// threads add scratch memory, never weights. A Model keeps them
// (runtime/model/model_access.hpp).
class PreparedWeights {
 public:
  virtual ~PreparedWeights() = default;
  // Bytes of weights held, beyond the model's compiled network.
  virtual std::size_t bytes() const = 0;
};

// Runs a compiled network on a batch of normalised lines. An engine owns
// scratch memory and is used by one thread at a time.
struct OpProfile {
  std::string name;
  double seconds = 0;   // summed over forward calls since profiling was switched on
  bool folded = false;  // run inside the step of the op before it (a fusion)
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::vector<LogProbs> forward(std::span<const LineTensor> lines) = 0;
  // Time spent per network op (for the benchmarks' profiles); engines that
  // do not profile return nothing.
  virtual void set_profiling(bool) {}
  virtual std::vector<OpProfile> profile() const { return {}; }
};

// One line through the plain reference layers (the convolutions of `int8`,
// by op index, in int8 arithmetic; those of ops i with bf16[i] in bf16).
// `observe`, if set, sees the values entering each op (op index, then the
// feature map or frame sequence).
using ReferenceObserver = std::function<void(std::size_t op, const std::vector<float>& input)>;
LogProbs reference_forward(const CompiledNetwork& network, const LineTensor& line,
                           const std::map<std::size_t, Int8Rows>& int8 = {},
                           const std::vector<bool>& bf16 = {},
                           const ReferenceObserver& observe = {});

// conv_precision int8: the int8 convolutions in plain integer arithmetic
// (conv2d_int8_reference), the oracle of the onednn engine's; bf16: the
// bf16 convolutions (bf16_convolutions) as conv2d_bf16_reference.
std::unique_ptr<Engine> make_reference_engine(const CompiledNetwork& network, int threads,
                                              Precision conv_precision = Precision::fp32);
// How the onednn engine runs (RecognizerOptions' fields of the same names).
struct OnednnSettings {
  int threads = 1;
  Isa isa = Isa::automatic;
  ConvAlgorithm conv_algorithm = ConvAlgorithm::automatic;
  TuckerExecution tucker = TuckerExecution::automatic;
  Precision lstm_precision = Precision::fp32;
  Precision conv_precision = Precision::fp32;
};
// On the model's shared prepared weights (made on first use).
std::unique_ptr<Engine> make_onednn_engine(const Model& model, const OnednnSettings& settings);

// Static calibration (int8 ONNX export): the largest value entering each op
// of `network` over `lines`, in fp32 reference arithmetic (0 where nothing
// positive enters). Lines run in parallel on `threads`.
std::vector<float> largest_op_inputs(const CompiledNetwork& network,
                                     std::span<const LineTensor> lines, int threads);

// Checks that each line has the network's input height; throws Error naming
// the line otherwise.
void check_line_heights(const CompiledNetwork& network, std::span<const LineTensor> lines);

}  // namespace ocrcore::detail
