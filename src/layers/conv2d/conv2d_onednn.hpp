#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/onednn/onednn_batch.hpp"
#include "layers/conv2d/conv2d_op.hpp"

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

}  // namespace ocrcore::detail::onednn
