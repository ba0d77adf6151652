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
#include "ocrcore/recognizer.hpp"

namespace ocrcore::detail {

class PreparedNetwork final : public PreparedWeights {
 public:
  struct LstmLayer {
    std::vector<float> w_ih;            // both directions stacked: [dirs * 4N][input]
    kernels::PackedInt8Rows w_ih_int8;  // int8 LSTMs: the same quantised (w_ih then empty)
    std::array<kernels::PackedRecurrent, 2> recurrent;           // fp32 steps
    std::array<kernels::PackedRecurrentInt8, 2> recurrent_int8;  // int8 steps
  };
  // An int8 convolution: the scale of each output channel's weights (the
  // weights themselves are kept in the layouts they run in).
  struct Int8Conv {
    std::vector<float> scale;
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
  // The single convolution Tucker op `op` runs as, or null when it runs as
  // its chain (or is not a Tucker op).
  const ConvOp* composed(std::size_t op) const;
  const std::vector<LstmLayer>& lstm(std::size_t op) const { return lstm_.at(op); }
  // Linear op `op`'s weights transposed for kernels::DenseProjection.
  const kernels::PackedDense& dense(std::size_t op) const { return dense_.at(op); }
  const ImageConvPlan& image_conv() const { return image_; }
  // Convolution `slot` (an engine's numbering) in int8, or null when it runs
  // in fp32.
  const Int8Conv* int8_conv(std::size_t slot) const;
  // Whether convolution `slot` runs in bf16 (bf16_convolutions).
  bool bf16_conv(std::size_t slot) const {
    return slot / 3 < bf16_ops_.size() && bf16_ops_[slot / 3];
  }

  // The weights of convolution `slot` (an engine's numbering) in `layout`
  // (f32, or s8 for an int8 convolution), reordered on the first request and
  // kept: safe to call from any thread. `engine` and `stream` are the
  // caller's, used for that one reorder.
  const void* reordered_weights(std::size_t slot, const ConvOp& op,
                                const dnnl::memory::desc& layout, const dnnl::engine& engine,
                                dnnl::stream& stream) const;

  std::size_t bytes() const override;

 private:
  struct Reordered {
    dnnl::memory::desc layout;
    // 64-byte aligned, as oneDNN allocates its own buffers.
    std::unique_ptr<void, void (*)(void*)> values{nullptr, std::free};
    std::size_t bytes = 0;
  };
  const CompiledNetwork& network_;
  const kernels::KernelTable& kernels_;
  Precision lstm_precision_;
  std::map<std::size_t, ConvOp> composed_;
  std::map<std::size_t, std::vector<LstmLayer>> lstm_;
  std::map<std::size_t, kernels::PackedDense> dense_;
  std::map<std::size_t, Int8Conv> int8_convs_;  // by slot
  std::vector<bool> bf16_ops_;                  // by op (empty unless conv precision bf16)
  ImageConvPlan image_;
  mutable std::mutex mutex_;
  mutable std::map<std::size_t, std::vector<std::unique_ptr<Reordered>>> reordered_;
};

// The prepared form of `model`'s network for these settings, made on first
// use and kept with the model.
std::shared_ptr<const PreparedNetwork> prepared_network(const Model& model, Isa isa,
                                                        TuckerExecution tucker,
                                                        Precision lstm_precision,
                                                        Precision conv_precision);

}  // namespace ocrcore::detail
