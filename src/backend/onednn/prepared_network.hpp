#pragma once

// A network's weights in the form the oneDNN engine runs them, prepared once
// per model, instruction set, Tucker setting and precisions and shared by every engine
// (every Recognizer) on that model: LSTM recurrent matrices packed for the
// step kernel (or quantised for the int8 step), linear layers transposed for
// the dense kernel, the first layer's weights transposed for its own
// kernel, Tucker chains composed where the tuning rules say so, and convolution weights reordered
// into the layouts oneDNN's primitives ask for (quantised first for int8 convolutions).

#include <array>
#include <cstddef>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "core/model_access.hpp"
#include "kernels/kernels.hpp"
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

class PreparedNetwork final : public PreparedWeights {
 public:
  struct LstmLayer {
    std::vector<float> w_ih;            // both directions stacked: [dirs * 4N][input]
    kernels::PackedInt8Rows w_ih_int8;  // int8 LSTMs: the same quantised (w_ih then empty)
    std::array<kernels::PackedRecurrent, 2> recurrent;           // fp32 steps
    std::array<kernels::PackedRecurrentInt8, 2> recurrent_int8;  // int8 steps
  };
  struct ImageConvPlan {
    bool active = false;         // op 0 runs on kernels::ImageConv
    bool pool = false;           // op 1, a max pool, is folded into it
    std::vector<float> weights;  // [9][channels]
  };

  // `network` must outlive this object (the model owns both).
  // Throws Error if `lstm_precision` is int8 and the instruction set has no
  // int8 step, `conv_precision` is int8 and the CPU has no VNNI, or it is
  // bf16 and the CPU has no AVX-512 BF16.
  PreparedNetwork(const CompiledNetwork& network, Isa resolved_isa, TuckerExecution tucker,
                  Precision lstm_precision, Precision conv_precision);

  // The key under which a Model keeps the prepared form for these settings.
  static std::string key(Isa resolved_isa, TuckerExecution tucker, Precision lstm_precision,
                         Precision conv_precision);

  const CompiledNetwork& network() const { return network_; }
  const kernels::KernelTable& kernels() const { return kernels_; }
  Precision lstm_precision() const { return lstm_precision_; }
  // Whether Tucker op `op` runs composed into one convolution.
  bool composed(std::size_t op) const { return composed_.count(op) > 0; }
  // The convolutions op `op` runs, in order: one for a conv2d op or a
  // composed Tucker op, a Tucker chain's factors (input, if any, core,
  // output); none for other ops.
  const std::vector<std::unique_ptr<PreparedConv>>& convolutions(std::size_t op) const {
    return convolutions_.at(op);
  }
  const std::vector<LstmLayer>& lstm(std::size_t op) const { return lstm_.at(op); }
  // Linear op `op`'s weights transposed for kernels::DenseProjection.
  const kernels::PackedDense& dense(std::size_t op) const { return dense_.at(op); }
  const ImageConvPlan& image_conv() const { return image_; }

  std::size_t bytes() const override;

 private:
  const CompiledNetwork& network_;
  const kernels::KernelTable& kernels_;
  Precision lstm_precision_;
  std::map<std::size_t, ConvOp> composed_;  // (a map: the convolutions point into it)
  std::vector<std::vector<std::unique_ptr<PreparedConv>>> convolutions_;  // by op
  std::map<std::size_t, std::vector<LstmLayer>> lstm_;
  std::map<std::size_t, kernels::PackedDense> dense_;
  ImageConvPlan image_;
};

// The prepared form of `model`'s network for these settings, made on first
// use and kept with the model.
std::shared_ptr<const PreparedNetwork> prepared_network(const Model& model, Isa isa,
                                                        TuckerExecution tucker,
                                                        Precision lstm_precision,
                                                        Precision conv_precision);

}  // namespace ocrcore::detail
