#pragma once

#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "layers/layer_kind.hpp"
#include "training/train/layers.hpp"

// How a kind's training layer is made: each kind's
// src/layers/<kind>/<kind>_train.cpp defines its layer and
// register_<kind>_train(), and the list generated from src/layers/kinds.cmake
// registers them all; the network builds layers through the registry without
// knowing the kinds.
namespace ocrcore::train {

class TrainLayerRegistry {
 public:
  using Make = std::unique_ptr<Layer> (*)(const LayerSpec& spec);

  // `make` builds the training layer of kind Spec from its fields.
  template <class Spec, std::unique_ptr<Layer> (*make)(const Spec&)>
  void add() {
    add(detail::LayerKind<Spec>::type_name, [](const LayerSpec& s) { return make(*s.as<Spec>()); });
  }
  void add(std::string_view type, Make maker);
  // The training layer of `spec`; throws Error for a kind that cannot be trained.
  std::unique_ptr<Layer> make(const LayerSpec& spec) const;

  // A layer of kind `first` directly followed by one of kind `second` is
  // computed by one layer, `make(first, second)`, and the second's slot
  // passes buffers through (a batch norm with the ReLU after it: one memory
  // pass less each way).
  using MakeFused = std::unique_ptr<Layer> (*)(const LayerSpec& first, const LayerSpec& second);
  void add_fusion(std::string_view first, std::string_view second, MakeFused maker);
  // The fusion of these two layers; nullptr if they have none.
  MakeFused fusion(const LayerSpec& first, const LayerSpec& second) const;

 private:
  struct Fusion {
    std::string_view first, second;
    MakeFused make;
  };
  std::vector<std::pair<std::string_view, Make>> entries_;
  std::vector<Fusion> fusions_;
};

// The registry of every kind's training layer, made on first use.
const TrainLayerRegistry& train_layers();
// Generated (src/layers/kinds.cmake): registers every kind's training layer.
void register_train_layers(TrainLayerRegistry& registry);

// A convolution's shape: the layer of conv2d, each factor of a Tucker
// convolution, a grouped convolution (weights [out][in / groups][kh][kw]).
struct ConvGeometry {
  int in_channels = 0, out_channels = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  int groups = 1;
};

// A convolution named by its weight (and bias, empty for none) tensors
// (src/layers/conv2d/conv2d_train.cpp; Tucker's factors are three of them).
std::unique_ptr<Layer> make_convolution_layer(const ConvGeometry& geometry,
                                              const std::string& weight_name,
                                              const std::string& bias_name);

// Stands in for the second layer of a fusion: hands the activations and
// gradients through by swapping buffers (no copy).
std::unique_ptr<Layer> make_pass_through_layer();

}  // namespace ocrcore::train
