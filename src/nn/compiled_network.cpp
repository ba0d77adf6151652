#include "nn/compiled_network.hpp"

#include <cmath>

#include "core/overloaded.hpp"
#include "ocrcore/error.hpp"

namespace ocrcore::detail {

namespace {

ConvOp make_conv(int in_channels, int out_channels, int kh, int kw, int sh, int sw, int ph, int pw,
                 Tensor& weight, Tensor* bias) {
  ConvOp op;
  op.in_channels = in_channels;
  op.out_channels = out_channels;
  op.kernel_h = kh;
  op.kernel_w = kw;
  op.stride_h = sh;
  op.stride_w = sw;
  op.pad_h = ph;
  op.pad_w = pw;
  op.weight = std::move(weight.data);
  op.bias = bias ? std::move(bias->data)
                 : std::vector<float>(static_cast<std::size_t>(out_channels), 0.0f);
  return op;
}

// Scales output channel o of `conv` by gamma/sqrt(var+eps) and shifts its bias,
// which is exactly batch norm applied after it.
void fold_batch_norm(ConvOp& conv, const BatchNormSpec& bn, const TensorMap& t) {
  const auto& gamma = t.at(bn.name + ".weight").data;
  const auto& beta = t.at(bn.name + ".bias").data;
  const auto& mean = t.at(bn.name + ".running_mean").data;
  const auto& var = t.at(bn.name + ".running_var").data;
  const std::size_t per_out = conv.weight.size() / conv.out_channels;
  for (int o = 0; o < conv.out_channels; ++o) {
    if (var[o] < 0)
      throw Error(
          "batch norm '" + bn.name + "': running_var[" + std::to_string(o) + "] is negative",
          ErrorKind::bad_model);
    double scale = gamma[o] / std::sqrt(double(var[o]) + bn.eps);
    for (std::size_t i = 0; i < per_out; ++i)
      conv.weight[o * per_out + i] = static_cast<float>(conv.weight[o * per_out + i] * scale);
    conv.bias[o] = static_cast<float>((conv.bias[o] - mean[o]) * scale + beta[o]);
  }
}

}  // namespace

CompiledNetwork compile_network(const Architecture& a, const TensorMap& t) {
  return compile_network(a, TensorMap(t));
}

CompiledNetwork compile_network(const Architecture& a, TensorMap&& t) {
  CompiledNetwork net;
  net.input_height = a.input_height;
  net.num_classes = a.validate();
  // Each tensor is read once: its values move into the op.
  auto get = [&](const std::string& name) -> Tensor& { return t.at(name); };
  auto bias = [&](bool has, const std::string& name) { return has ? &get(name) : nullptr; };
  for (const auto& layer : a.layers) {
    std::visit(
        Overloaded{
            [&](const Conv2dSpec& s) {
              ConvOp op = make_conv(s.in_channels, s.out_channels, s.kernel_h, s.kernel_w,
                                    s.stride_h, s.stride_w, s.pad_h, s.pad_w,
                                    get(s.name + ".weight"), bias(s.bias, s.name + ".bias"));
              op.weight_name = s.name + ".weight";
              net.ops.push_back(std::move(op));
            },
            [&](const TuckerConvSpec& s) {
              TuckerOp op;
              int core_in = s.in_channels;
              if (s.rank_in > 0) {
                op.has_in = true;
                op.in = make_conv(s.in_channels, s.rank_in, 1, 1, 1, 1, 0, 0,
                                  get(s.name + ".in.weight"), nullptr);
                core_in = s.rank_in;
              }
              op.core =
                  make_conv(core_in, s.rank_out, s.kernel_h, s.kernel_w, s.stride_h, s.stride_w,
                            s.pad_h, s.pad_w, get(s.name + ".core.weight"), nullptr);
              op.out = make_conv(s.rank_out, s.out_channels, 1, 1, 1, 1, 0, 0,
                                 get(s.name + ".out.weight"), bias(s.bias, s.name + ".out.bias"));
              net.ops.push_back(std::move(op));
            },
            [&](const BatchNormSpec& s) {
              // validate() guarantees a conv or Tucker conv directly before.
              Op& prev = net.ops.back();
              if (auto* c = std::get_if<ConvOp>(&prev)) fold_batch_norm(*c, s, t);
              if (auto* tk = std::get_if<TuckerOp>(&prev)) fold_batch_norm(tk->out, s, t);
            },
            [&](const ReluSpec&) {
              // Fused into the layer before when it has no activation yet.
              bool* slot = nullptr;
              if (!net.ops.empty()) {
                Op& prev = net.ops.back();
                if (auto* c = std::get_if<ConvOp>(&prev)) slot = &c->relu;
                if (auto* tk = std::get_if<TuckerOp>(&prev)) slot = &tk->out.relu;
                if (auto* lin = std::get_if<LinearOp>(&prev)) slot = &lin->relu;
              }
              if (slot && !*slot)
                *slot = true;
              else
                net.ops.push_back(ReluOp{});
            },
            [&](const MaxPoolSpec& s) {
              net.ops.push_back(PoolOp{s.kernel_h, s.kernel_w, s.stride_h, s.stride_w, s.pad_h,
                                       s.pad_w, s.ceil_mode});
            },
            [&](const DropoutSpec&) {},  // identity at inference
            [&](const CollapseSpec&) { net.ops.push_back(CollapseOp{}); },
            [&](const LstmSpec& s) {
              LstmOp op;
              op.input_size = s.input_size;
              op.hidden_size = s.hidden_size;
              op.num_layers = s.num_layers;
              op.bidirectional = s.bidirectional;
              op.layers.resize(s.num_layers);
              for (int l = 0; l < s.num_layers; ++l) {
                for (int d = 0; d < op.directions(); ++d) {
                  const LstmTensorNames names = s.tensor_names(l, d);
                  LstmDirection& dir = op.layers[l][d];
                  dir.w_ih = std::move(get(names.weight_ih).data);
                  dir.w_hh = std::move(get(names.weight_hh).data);
                  dir.bias = std::move(get(names.bias_ih).data);
                  const auto& b_hh = get(names.bias_hh).data;
                  for (std::size_t i = 0; i < dir.bias.size(); ++i)
                    dir.bias[i] += b_hh[i];
                }
              }
              net.ops.push_back(std::move(op));
            },
            [&](const LinearSpec& s) {
              LinearOp op;
              op.in_features = s.in_features;
              op.out_features = s.out_features;
              op.weight = std::move(get(s.name + ".weight").data);
              op.bias = s.bias ? std::move(get(s.name + ".bias").data)
                               : std::vector<float>(static_cast<std::size_t>(s.out_features));
              net.ops.push_back(std::move(op));
            },
        },
        layer);
  }
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
