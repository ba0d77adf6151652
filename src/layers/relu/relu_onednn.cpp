// A ReLU the compiled network could not fuse into the layer before it.

#include "layers/onednn_executors.hpp"

namespace ocrcore::detail::onednn {

namespace {

class ReluExecutor final : public OpExecutor {
 public:
  void run(Context& c) override {
    for (float& x : c.collapsed ? c.frames.values : c.input().values)
      x = std::max(x, 0.0f);
  }
  std::string name() const override { return "relu"; }
};

}  // namespace

std::unique_ptr<OpExecutor> make_relu_executor() {
  return std::make_unique<ReluExecutor>();
}

}  // namespace ocrcore::detail::onednn
