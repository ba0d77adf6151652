// A ReLU the graph pass could not fuse into the op before it: on the feature
// maps before the collapse, or on the frames after it (which of the two is
// decided when the plan is built).

#include <algorithm>

#include "runtime/engines/onednn/onednn_batch.hpp"

namespace ocrcore::detail::onednn {

namespace {

class FeatureMapReluExecutor final : public OpExecutor {
 public:
  Dataflow dataflow() const override { return Dataflow::maps_in_place; }
  void run(Context&, const OpData& data) override {
    for (float& x : data.maps_in->values)
      x = std::max(x, 0.0f);
  }
  std::string name() const override { return "relu"; }
};

class FrameReluExecutor final : public OpExecutor {
 public:
  Dataflow dataflow() const override { return Dataflow::frames_in_place; }
  void run(Context&, const OpData& data) override {
    for (float& x : data.frames->values)
      x = std::max(x, 0.0f);
  }
  std::string name() const override { return "relu"; }
};

std::unique_ptr<OpExecutor> make_relu_executor(const PreparedNetwork&, std::size_t,
                                               OpPlacement placement) {
  if (placement.sequence) return std::make_unique<FrameReluExecutor>();
  return std::make_unique<FeatureMapReluExecutor>();
}

}  // namespace

void register_relu_onednn(ExecutorRegistry& registry) {
  registry.add<ReluOp>(make_relu_executor);
}

}  // namespace ocrcore::detail::onednn
