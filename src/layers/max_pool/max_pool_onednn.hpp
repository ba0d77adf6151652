#pragma once

#include <vector>

#include "layers/max_pool/max_pool_op.hpp"
#include "runtime/engines/onednn/onednn_batch.hpp"

namespace ocrcore::detail::onednn {

// Max pooling on oneDNN's primitive, per input shape; the padding of each
// line is -inf first, so it never wins a window.
class MaxPoolExecutor final : public OpExecutor {
 public:
  explicit MaxPoolExecutor(const PoolOp& op);
  ~MaxPoolExecutor() override;
  Dataflow dataflow() const override { return Dataflow::maps_to_maps; }
  void run(Context& c, const OpData& data) override;
  void forget_shapes() override;
  std::string name() const override { return "maxpool"; }

 private:
  struct Shape;
  PoolOp op_;
  std::vector<Shape> shapes_;
};

}  // namespace ocrcore::detail::onednn
