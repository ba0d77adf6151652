#pragma once

// A network's weights in the form the oneDNN engine runs them, prepared once
// per model, instruction set, Tucker setting and precisions and shared by
// every engine (every Recognizer) on that model. Each op's kind prepares its
// own (src/layers/<kind>/<kind>_onednn.cpp: LSTM matrices packed for the step
// kernel, linear layers for the dense kernel, Tucker chains composed where
// the tuning rules say so, convolution weights reordered into the layouts
// oneDNN's primitives ask for); the image-layer fusion adds the first
// layer's weights for its own kernel.

#include <array>
#include <cstddef>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "ocrcore/types.hpp"
#include "runtime/engines/engine.hpp"
#include "runtime/graph/compiled_network.hpp"
#include "runtime/graph/quantization.hpp"
#include "runtime/kernels/kernels.hpp"

namespace ocrcore::detail {

// What one op keeps in the prepared network (its kind's weights in the form
// its executor runs them); made by the kind's prepare function
// (src/layers/<kind>/<kind>_onednn.cpp, through the executor registry).
// Bytes a vector's values take: what PreparedOp::bytes() sums.
template <class T>
std::size_t vector_bytes(const std::vector<T>& v) {
  return v.size() * sizeof(T);
}

class PreparedOp {
 public:
  virtual ~PreparedOp() = default;
  virtual std::size_t bytes() const = 0;
};

// What a kind's prepare function is given: the settings the network is
// prepared for, and what the quantisation rules say of this op.
struct PrepareContext {
  const kernels::KernelTable& kernels;
  Isa isa = Isa::generic;
  TuckerExecution tucker = TuckerExecution::automatic;
  Precision lstm_precision = Precision::fp32;
  bool int8_convolution = false;  // int8_convolutions() chose it
  bool bf16_convolution = false;  // bf16_convolutions() chose it
  bool first_op = false;
};

class PreparedNetwork final : public PreparedWeights {
 public:
  struct ImageConvPlan {
    bool active = false;         // op 0 runs on kernels::ImageConv
    bool pool = false;           // op 1, a max pool, is folded into it
    std::vector<float> weights;  // [9][channels]
  };

  // `network` must outlive this object (the model owns both). Each op is
  // prepared by its kind (the executor registry). Throws Error if
  // `lstm_precision` is int8 and the instruction set has no int8 step,
  // `conv_precision` is int8 and the CPU has no VNNI, or it is bf16 and the
  // CPU has no AVX-512 BF16.
  PreparedNetwork(const CompiledNetwork& network, Isa resolved_isa, TuckerExecution tucker,
                  Precision lstm_precision, Precision conv_precision);

  // The key under which a Model keeps the prepared form for these settings.
  static std::string key(Isa resolved_isa, TuckerExecution tucker, Precision lstm_precision,
                         Precision conv_precision);

  const CompiledNetwork& network() const { return network_; }
  const kernels::KernelTable& kernels() const { return kernels_; }
  Precision lstm_precision() const { return lstm_precision_; }
  // What op `op`'s kind prepared, as its type T; throws Error if it prepared
  // nothing of that type.
  template <class T>
  const T& op(std::size_t op) const {
    const T* prepared = op < ops_.size() ? dynamic_cast<const T*>(ops_[op].get()) : nullptr;
    if (!prepared) missing(op);
    return *prepared;
  }
  // The same, or nullptr.
  template <class T>
  const T* find(std::size_t op) const {
    return op < ops_.size() ? dynamic_cast<const T*>(ops_[op].get()) : nullptr;
  }
  // The image-layer fusion (runtime/engines/onednn/image_conv.hpp), planned once here.
  const ImageConvPlan& image_conv() const { return image_; }

  std::size_t bytes() const override;

 private:
  [[noreturn]] void missing(std::size_t op) const;

  const CompiledNetwork& network_;
  const kernels::KernelTable& kernels_;
  Precision lstm_precision_;
  std::vector<std::unique_ptr<PreparedOp>> ops_;  // by op; null where a kind prepares nothing
  ImageConvPlan image_;
};

// The prepared form of `model`'s network for these settings, made on first
// use and kept with the model.
std::shared_ptr<const PreparedNetwork> prepared_network(const Model& model, Isa isa,
                                                        TuckerExecution tucker,
                                                        Precision lstm_precision,
                                                        Precision conv_precision);

}  // namespace ocrcore::detail
