#pragma once

#include <memory>
#include <string>

#include "train/layers.hpp"

// Constructors of the concrete layers, each kind's in
// src/layers/<kind>/<kind>_train.cpp.
namespace ocrcore::train {

// A plain convolution's shape: the layer of conv2d, and each factor of a
// Tucker convolution.
struct ConvGeometry {
  int in_channels = 0, out_channels = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
};

// A convolution named by its weight (and bias, empty for none) tensors.
std::unique_ptr<Layer> make_convolution_layer(const ConvGeometry& geometry,
                                              const std::string& weight_name,
                                              const std::string& bias_name);

std::unique_ptr<Layer> make_conv_layer(const Conv2dSpec& spec);
std::unique_ptr<Layer> make_tucker_conv_layer(const TuckerConvSpec& spec);
std::unique_ptr<Layer> make_max_pool_layer(const MaxPoolSpec& spec);
// With `fuse_relu` the layer also applies the ReLU that follows it; the
// network then runs make_pass_through_layer() in the ReLU's place.
std::unique_ptr<Layer> make_batch_norm_layer(const BatchNormSpec& spec, bool fuse_relu = false);
std::unique_ptr<Layer> make_pass_through_layer();
std::unique_ptr<Layer> make_relu_layer();
std::unique_ptr<Layer> make_dropout_layer(const DropoutSpec& spec);
std::unique_ptr<Layer> make_collapse_layer();
std::unique_ptr<Layer> make_lstm_layer(const LstmSpec& spec);
std::unique_ptr<Layer> make_linear_layer(const LinearSpec& spec);

}  // namespace ocrcore::train
