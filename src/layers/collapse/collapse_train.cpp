// The height collapse for training: feature map columns become frames.

#include <algorithm>

#include "layers/collapse/collapse.hpp"
#include "ocrcore/error.hpp"
#include "training/train/layer_factory.hpp"
#include "training/train/parallel.hpp"

namespace ocrcore::train {

namespace {

// Maps N x H x W x C to W frames of C * H features (feature c * H + y).
class CollapseLayer final : public Layer {
 public:
  void forward(Activations& in, Activations& out, Mode /*mode*/) override {
    const int C = in.channels, H = in.height;
    out.resize_sequences(in.width, in.batch, C * H);
    out.lengths = in.lengths;
    for (int n = 0; n < in.batch; ++n)
      for (int y = 0; y < H; ++y) {
        const float* row = in.map_row(n, y);
        for (int x = 0; x < in.width; ++x) {
          float* f = out.frame(x, n);
          for (int c = 0; c < C; ++c)
            f[c * H + y] = row[static_cast<std::size_t>(x) * C + c];
        }
      }
    out.fill_padding(0.0f);
  }
  void backward(const Activations& in, const Activations& /*out*/, Activations& diff_out,
                Activations* diff_in) override {
    if (!diff_in) return;
    const int C = in.channels, H = in.height;
    diff_in->resize_maps(in.batch, C, H, in.width);
    diff_in->lengths = in.lengths;
    for (int n = 0; n < in.batch; ++n)
      for (int y = 0; y < H; ++y) {
        float* row = diff_in->map_row(n, y);
        for (int x = 0; x < in.width; ++x) {
          const float* f = diff_out.frame(x, n);
          for (int c = 0; c < C; ++c)
            row[static_cast<std::size_t>(x) * C + c] = f[c * H + y];
        }
      }
    diff_in->fill_padding(0.0f);
  }
};

}  // namespace

namespace {

std::unique_ptr<Layer> make_collapse_layer(const CollapseSpec& /*spec*/) {
  return std::make_unique<CollapseLayer>();
}

}  // namespace

void register_collapse_train(TrainLayerRegistry& registry) {
  registry.add<CollapseSpec, make_collapse_layer>();
}

}  // namespace ocrcore::train
