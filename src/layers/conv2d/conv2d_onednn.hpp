#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/onednn/onednn_batch.hpp"

namespace ocrcore::detail::onednn {

// A convolution on oneDNN's primitives (fp32, bf16 or int8, as its
// PreparedConv says), in the layout oneDNN prefers for it.
class ConvExecutor final : public OpExecutor {
 public:
  ConvExecutor(const PreparedConv& conv, std::string name);
  ~ConvExecutor() override;
  void run(Context& c) override;
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

// Op `op`, a conv2d, as the engine's plan runs it.
std::unique_ptr<OpExecutor> make_conv2d_executor(const PreparedNetwork& prepared, std::size_t op);
// Op 0 (a conv2d or a composed Tucker op) on ocrcore's own image kernel
// where PreparedNetwork::image_conv() says so, with the pool after it when
// it folds in (the executor then runs two ops).
std::unique_ptr<OpExecutor> make_image_conv_executor(const PreparedNetwork& prepared,
                                                     const std::string& name);
// "conv 64->128 3x3".
std::string conv_name(const ConvOp& op);

}  // namespace ocrcore::detail::onednn
