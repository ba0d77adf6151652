#pragma once

#include <array>
#include <string>
#include <variant>
#include <vector>

#include "ocrcore/architecture.hpp"
#include "ocrcore/tensor.hpp"

namespace ocrcore::detail {

// The network as the engines run it: batch norm folded into the convolution
// before it, ReLU fused into the layer before it where possible, dropout gone,
// every bias present (zeros where the file had none).

struct ConvOp {
  int in_channels = 0, out_channels = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  bool relu = false;
  std::vector<float> weight;  // [out][in][kh][kw]
  std::vector<float> bias;    // [out]
  std::string weight_name;    // the model's tensor, for a conv2d layer (not a Tucker factor)
};

// Tucker-2 chain: optional 1x1 input factor, k x k core, 1x1 output factor
// (the fused ReLU, if any, is on `out`).
struct TuckerOp {
  bool has_in = false;
  ConvOp in, core, out;
};

struct PoolOp {
  int kernel_h = 2, kernel_w = 2, stride_h = 2, stride_w = 2, pad_h = 0, pad_w = 0;
  bool ceil_mode = false;
};

struct ReluOp {};
struct CollapseOp {};

struct LstmDirection {
  std::vector<float> w_ih;           // [4N][input], gates i, f, g, o
  std::vector<float> w_hh;           // [4N][N]
  std::vector<float> bias;           // b_ih + b_hh, [4N]
  std::string w_ih_name, w_hh_name;  // the model's tensors (int8 files store them as I8)
};

struct LstmOp {
  int input_size = 0, hidden_size = 0, num_layers = 1;
  bool bidirectional = true;
  // layers[l][d]: d = 0 forward, 1 backward.
  std::vector<std::array<LstmDirection, 2>> layers;
  int directions() const { return bidirectional ? 2 : 1; }
  int layer_input(int l) const { return l == 0 ? input_size : hidden_size * directions(); }
};

struct LinearOp {
  int in_features = 0, out_features = 0;
  bool relu = false;
  std::vector<float> weight;  // [out][in]
  std::vector<float> bias;    // [out]
};

using Op = std::variant<ConvOp, TuckerOp, PoolOp, ReluOp, CollapseOp, LstmOp, LinearOp>;

struct CompiledNetwork {
  int input_height = 0;
  int num_classes = 0;
  int min_width = 1;  // narrower lines are padded with background to this width
  std::vector<Op> ops;
};

// The single convolution a Tucker chain computes: W = U_out * core * U_in
// (exact up to rounding, since the input and core factors carry no bias).
ConvOp compose_tucker(const TuckerOp& op);

// Multiply-adds per output pixel of the chain and of its composed convolution.
double tucker_chain_macs(const TuckerOp& op);
double tucker_composed_macs(const TuckerOp& op);

// `tensors` must already hold every required tensor with its shape (the model
// loader checks that first). The second form takes the values over instead of
// copying them, so a loaded model holds its weights once.
CompiledNetwork compile_network(const Architecture& architecture, const TensorMap& tensors);
CompiledNetwork compile_network(const Architecture& architecture, TensorMap&& tensors);

}  // namespace ocrcore::detail
