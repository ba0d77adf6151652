#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ocrcore/export.hpp"

namespace ocrcore {

// Layers of a CNN-DBLSTM-CTC model, in the order the network applies them.
// Names are the tensor-name prefixes of docs/model-format.md.

struct Conv2dSpec {
  std::string name;
  int in_channels = 0, out_channels = 0;
  int kernel_h = 3, kernel_w = 3;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  bool bias = true;
};

// A convolution stored as its Tucker-2 factors: 1x1 (C -> R1), k x k core
// (R1 -> R2, the original stride and padding), 1x1 (R2 -> S, with bias).
// rank_in == 0 means no input factor (the core reads the C input channels
// directly): Tucker-1 for one-channel layers, truncated SVD for 1x1 layers.
struct TuckerConvSpec {
  std::string name;
  int in_channels = 0, out_channels = 0;
  int kernel_h = 3, kernel_w = 3;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int rank_in = 0, rank_out = 0;
  bool bias = true;
};

// Folded into the preceding convolution when the model is loaded.
struct BatchNormSpec {
  std::string name;
  int num_features = 0;
  float eps = 1e-5f;
};

struct ReluSpec {};

struct MaxPoolSpec {
  int kernel_h = 2, kernel_w = 2;
  int stride_h = 2, stride_w = 2;
  int pad_h = 0, pad_w = 0;
  bool ceil_mode = false;
};

// Identity at inference; kept so training architectures load unchanged.
struct DropoutSpec {
  float p = 0.0f;
};

// Turns the C x H' x W' feature map into W' frames of D = C * H' values;
// frame t holds feature[c * H' + h] = map[c][h][t] (PyTorch's
// x.permute(3, 0, 1, 2).reshape(W', N, C * H')).
struct CollapseSpec {};

// The tensors of one layer and direction of an LSTM, under PyTorch's names
// (NAME.weight_ih_l0, NAME.weight_ih_l0_reverse, ...), gates in PyTorch's
// order i, f, g, o.
struct LstmTensorNames {
  std::string weight_ih, weight_hh, bias_ih, bias_hh;
};

struct LstmSpec {
  std::string name;
  int input_size = 0, hidden_size = 0, num_layers = 1;
  bool bidirectional = true;

  int directions() const { return bidirectional ? 2 : 1; }
  // Direction 0 forward, 1 reverse.
  LstmTensorNames tensor_names(int layer, int direction) const {
    const std::string suffix = "_l" + std::to_string(layer) + (direction ? "_reverse" : "");
    return {name + ".weight_ih" + suffix, name + ".weight_hh" + suffix, name + ".bias_ih" + suffix,
            name + ".bias_hh" + suffix};
  }
};

struct LinearSpec {
  std::string name;
  int in_features = 0, out_features = 0;
  bool bias = true;
};

using LayerSpec = std::variant<Conv2dSpec, TuckerConvSpec, BatchNormSpec, ReluSpec, MaxPoolSpec,
                               DropoutSpec, CollapseSpec, LstmSpec, LinearSpec>;

// Name and shape of one tensor a layer needs.
struct TensorRequirement {
  std::string name;
  std::vector<std::int64_t> shape;
};

struct OCRCORE_API Architecture {
  int input_height = 32;
  int input_channels = 1;
  std::vector<LayerSpec> layers;

  // Parses the JSON of docs/model-format.md; throws Error naming the layer and
  // field at fault.
  static Architecture from_json(std::string_view json);
  // Reads and parses an architecture JSON file; errors name the file.
  static Architecture load(const std::filesystem::path& path);
  std::string to_json() const;

  // Checks that each layer accepts what the previous one produces and that the
  // network ends in per-frame class scores; throws Error naming the layer.
  // Returns the number of output classes.
  int validate() const;
  // Every tensor the layers need, with its shape.
  std::vector<TensorRequirement> required_tensors() const;
  // Horizontal downsampling of the CNN: product of the width strides.
  int width_stride() const;
  // Number of output frames for a line of `width` normalised pixels (0 if too narrow).
  int frames_for_width(int width) const;
  // Parameters (after batch-norm folding: BN adds none at inference).
  std::int64_t parameter_count() const;
  // Multiply-adds x 2 for one line of input_height x `width`.
  double flops(int width) const;
};

// "conv2d", "tucker_conv", ... : the JSON type name of a layer.
OCRCORE_API std::string_view layer_type_name(const LayerSpec& layer);

}  // namespace ocrcore
