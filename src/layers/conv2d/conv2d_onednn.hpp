#pragma once

#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "layers/conv2d/conv2d_op.hpp"
#include "runtime/engines/onednn/onednn_batch.hpp"

namespace ocrcore::detail {

// oneDNN's weight dimensions of `op`: oihw, or goihw with groups.
dnnl::memory::dims conv_weight_dims(const ConvOp& op);

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

// The convolutions an op runs, in order: one for a conv2d op or a composed
// Tucker op, a Tucker chain's factors (input, if any, core, output).
class PreparedConvolutions final : public PreparedOp {
 public:
  std::vector<std::unique_ptr<PreparedConv>> convolutions;
  std::optional<ConvOp> composed;  // a Tucker chain composed (the convolution points into it)
  std::size_t bytes() const override;
};

}  // namespace ocrcore::detail

namespace ocrcore::detail::onednn {

// A convolution on oneDNN's primitives (fp32, bf16 or int8, as its
// PreparedConv says), in the layout oneDNN prefers for it.
class ConvExecutor final : public OpExecutor {
 public:
  ConvExecutor(const PreparedConv& conv, std::string name);
  ~ConvExecutor() override;
  Dataflow dataflow() const override { return Dataflow::maps_to_maps; }
  void run(Context& c, const OpData& data) override;
  void forget_shapes() override;
  std::string name() const override { return name_; }

  // The convolution oneDNN would run on `in`: the descriptor only, which
  // generates no code.
  dnnl::convolution_forward::primitive_desc describe(Context& c, const FeatureMaps& in, int oh,
                                                     int ow) const;

 private:
  struct Shape;
  Shape& shape(Context& c, const FeatureMaps& in, int oh, int ow);
  const std::vector<float>& quantize_lines(Context& c, Shape& e, const FeatureMaps& in,
                                           std::uint8_t* quantized);
  void finish_int8(Context& c, FeatureMaps& out, const std::vector<float>& scales) const;

  const PreparedConv& conv_;
  std::string name_;
  std::vector<Shape> shapes_;
};

}  // namespace ocrcore::detail::onednn
