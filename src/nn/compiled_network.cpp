#include "nn/compiled_network.hpp"

#include <cmath>

#include "layers/layer_kind.hpp"
#include "nn/lowering.hpp"
#include "ocrcore/error.hpp"

namespace ocrcore::detail {

ConvOp make_conv_op(int in_channels, int out_channels, int kh, int kw, int sh, int sw, int ph,
                    int pw, std::vector<float> weight, std::vector<float> bias) {
  ConvOp op;
  op.in_channels = in_channels;
  op.out_channels = out_channels;
  op.kernel_h = kh;
  op.kernel_w = kw;
  op.stride_h = sh;
  op.stride_w = sw;
  op.pad_h = ph;
  op.pad_w = pw;
  op.weight = std::move(weight);
  op.bias = bias.empty() ? std::vector<float>(static_cast<std::size_t>(out_channels), 0.0f)
                         : std::move(bias);
  return op;
}

CompiledNetwork compile_network(const Architecture& a, const TensorMap& t) {
  return compile_network(a, TensorMap(t));
}

CompiledNetwork compile_network(const Architecture& a, TensorMap&& t) {
  CompiledNetwork net;
  net.input_height = a.input_height;
  net.num_classes = a.validate();
  Lowering lowering(net, t);
  for (const auto& layer : a.layers)
    layer.impl().lower(lowering);
  int w = 1;
  while (a.frames_for_width(w) < 1) {
    if (++w > 1 << 16)
      throw Error("architecture: no input width gives an output frame", ErrorKind::bad_model);
  }
  net.min_width = w;
  return net;
}

ConvOp compose_tucker(const TuckerOp& t) {
  const ConvOp& core = t.core;
  const int in_c = t.has_in ? t.in.in_channels : core.in_channels;
  const int r1 = core.in_channels, r2 = core.out_channels, out_c = t.out.out_channels;
  const int taps = core.kernel_h * core.kernel_w;
  ConvOp c;
  c.in_channels = in_c;
  c.out_channels = out_c;
  c.kernel_h = core.kernel_h, c.kernel_w = core.kernel_w;
  c.stride_h = core.stride_h, c.stride_w = core.stride_w;
  c.pad_h = core.pad_h, c.pad_w = core.pad_w;
  c.relu = t.out.relu;
  // core * U_in: [r2][in_c][taps], accumulated in double.
  std::vector<double> mid(static_cast<std::size_t>(r2) * in_c * taps, 0.0);
  for (int o = 0; o < r2; ++o)
    for (int r = 0; r < r1; ++r)
      for (int k = 0; k < taps; ++k) {
        const double w = core.weight[(static_cast<std::size_t>(o) * r1 + r) * taps + k];
        for (int i = 0; i < in_c; ++i)
          mid[(static_cast<std::size_t>(o) * in_c + i) * taps + k] +=
              w * (t.has_in ? t.in.weight[static_cast<std::size_t>(r) * in_c + i] : (r == i));
      }
  c.weight.assign(static_cast<std::size_t>(out_c) * in_c * taps, 0.0f);
  for (int o = 0; o < out_c; ++o)
    for (std::size_t j = 0; j < static_cast<std::size_t>(in_c) * taps; ++j) {
      double acc = 0;
      for (int r = 0; r < r2; ++r)
        acc += static_cast<double>(t.out.weight[static_cast<std::size_t>(o) * r2 + r]) *
               mid[static_cast<std::size_t>(r) * in_c * taps + j];
      c.weight[static_cast<std::size_t>(o) * in_c * taps + j] = static_cast<float>(acc);
    }
  c.bias = t.out.bias;
  return c;
}

double tucker_chain_macs(const TuckerOp& t) {
  const ConvOp& core = t.core;
  return (t.has_in ? static_cast<double>(t.in.in_channels) * t.in.out_channels : 0.0) +
         static_cast<double>(core.in_channels) * core.out_channels * core.kernel_h * core.kernel_w +
         static_cast<double>(t.out.in_channels) * t.out.out_channels;
}

double tucker_composed_macs(const TuckerOp& t) {
  const int in_c = t.has_in ? t.in.in_channels : t.core.in_channels;
  return static_cast<double>(in_c) * t.out.out_channels * t.core.kernel_h * t.core.kernel_w;
}

}  // namespace ocrcore::detail
