#pragma once

#include <memory>

#include "train/layers.hpp"

// Constructors of the concrete layers, one translation unit per family.
namespace ocrcore::train {

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
