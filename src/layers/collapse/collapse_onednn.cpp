// The collapse in the oneDNN engine: feature maps become time-major frames,
// frames[t][b][c * H + y]; frames past a line's end are zero.

#include <cstring>

#include "layers/collapse/collapse_op.hpp"
#include "runtime/engines/onednn/onednn_batch.hpp"

namespace ocrcore::detail::onednn {

namespace {

class CollapseExecutor final : public OpExecutor {
 public:
  Dataflow dataflow() const override { return Dataflow::maps_to_frames; }
  void run(Context&, const OpData& data) override {
    const FeatureMaps& in = *data.maps_in;
    FrameBatch& f = *data.frames;
    const int T = in.width, B = in.batch, D = in.channels * in.height;
    f.frames = T;
    f.lines = B;
    f.features = D;
    f.lengths = in.widths;
    f.values.assign(static_cast<std::size_t>(T) * B * D, 0.0f);
    if (in.height == 1 && in.layout.block == 1 && in.layout.sc == 1) {
      // Channels innermost (nhwc), as oneDNN lays out the last convolution:
      // each frame is already one contiguous feature vector.
      for (int b = 0; b < B; ++b)
        for (int t = 0; t < f.lengths[b]; ++t)
          std::memcpy(f.values.data() + (static_cast<std::size_t>(t) * B + b) * D,
                      in.values.data() + in.layout.at(b, 0, 0, t), sizeof(float) * D);
      return;
    }
    for (int b = 0; b < B; ++b)
      for (int ch = 0; ch < in.channels; ++ch)
        for (int y = 0; y < in.height; ++y) {
          const float* src = in.values.data() + in.layout.at(b, ch, y, 0);
          float* dst = f.values.data() + static_cast<std::size_t>(b) * D + ch * in.height + y;
          for (int t = 0; t < f.lengths[b]; ++t)
            dst[static_cast<std::size_t>(t) * B * D] = src[t * in.layout.sx];
        }
  }
  std::string name() const override { return "collapse"; }
};

std::unique_ptr<OpExecutor> make_collapse_executor(const PreparedNetwork&, std::size_t,
                                                   OpPlacement) {
  return std::make_unique<CollapseExecutor>();
}

}  // namespace

void register_collapse_onednn(ExecutorRegistry& registry) {
  registry.add<CollapseOp>(make_collapse_executor);
}

}  // namespace ocrcore::detail::onednn
