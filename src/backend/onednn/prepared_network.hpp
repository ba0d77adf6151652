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
#include <optional>
#include <vector>

#include "core/model_access.hpp"
#include "kernels/kernels.hpp"
#include "layers/conv2d/conv2d_op.hpp"
#include "nn/compiled_network.hpp"
#include "nn/quantization.hpp"
#include "ocrcore/types.hpp"

namespace ocrcore::detail {

// One convolution as the engine runs it (a conv2d op, one factor of a Tucker
// chain, or the chain composed): its weights are kept in the layouts
// oneDNN's primitives ask for, reordered on the first request (quantised
// first for an int8 convolution), so that they are held once, in the form
// they run in.
class PreparedConv {
 public:
  // `op` must outlive this object (the model or the prepared network owns it).
  PreparedConv(const ConvOp& op, std::vector<float> int8_scale, bool bf16)
      : op_(&op), int8_scale_(std::move(int8_scale)), bf16_(bf16) {}
  const ConvOp& op() const { return *op_; }
  // An int8 convolution: the scale of each output channel's weights.
  bool int8() const { return !int8_scale_.empty(); }
  const std::vector<float>& int8_scale() const { return int8_scale_; }
  // A bf16 convolution (bf16_convolutions).
  bool bf16() const { return bf16_; }
  // The weights in `layout` (f32, bf16, or s8 for int8); safe to call from
  // any thread. `engine` and `stream` are the caller's, used for that one
  // reorder.
  const void* weights(const dnnl::memory::desc& layout, const dnnl::engine& engine,
                      dnnl::stream& stream) const;
  std::size_t bytes() const;

 private:
  struct Reordered {
    dnnl::memory::desc layout;
    // 64-byte aligned, as oneDNN allocates its own buffers.
    std::unique_ptr<void, void (*)(void*)> values{nullptr, std::free};
    std::size_t bytes = 0;
  };
  const ConvOp* op_;
  std::vector<float> int8_scale_;
  bool bf16_;
  mutable std::mutex mutex_;
  mutable std::vector<std::unique_ptr<Reordered>> reordered_;
};

// What one op keeps in the prepared network (its kind's weights in the form
// its executor runs them); made by the kind's prepare function
// (src/layers/<kind>/<kind>_onednn.cpp, through the executor registry).
class PreparedOp {
 public:
  virtual ~PreparedOp() = default;
  virtual std::size_t bytes() const = 0;
};

// The convolutions an op runs, in order: one for a conv2d op or a composed
// Tucker op, a Tucker chain's factors (input, if any, core, output).
class PreparedConvolutions final : public PreparedOp {
 public:
  std::vector<std::unique_ptr<PreparedConv>> convolutions;
  std::optional<ConvOp> composed;  // a Tucker chain composed (the convolution points into it)
  std::size_t bytes() const override;
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
  // The image-layer fusion (backend/onednn/image_conv.hpp), planned once here.
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
