// The grouped convolution for training: the convolution layer of conv2d with
// its groups (oneDNN's grouped primitives, forward and backward).

#include "layers/grouped_conv/grouped_conv.hpp"
#include "training/train/layer_factory.hpp"

namespace ocrcore::train {

namespace {

std::unique_ptr<Layer> make_grouped_conv_layer(const GroupedConvSpec& s) {
  ConvGeometry g{s.in_channels, s.out_channels, s.kernel_h, s.kernel_w,
                 s.stride_h,    s.stride_w,     s.pad_h,    s.pad_w};
  g.groups = s.groups;
  return make_convolution_layer(g, s.name + ".weight", s.bias ? s.name + ".bias" : "");
}

}  // namespace

void register_grouped_conv_train(TrainLayerRegistry& registry) {
  registry.add<GroupedConvSpec, make_grouped_conv_layer>();
}

}  // namespace ocrcore::train
