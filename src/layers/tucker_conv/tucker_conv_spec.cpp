#include "layers/layer_registry.hpp"
#include "layers/tucker_conv/tucker_conv.hpp"
#include "layers/tucker_conv/tucker_conv_op.hpp"
#include "runtime/graph/lowering.hpp"

namespace ocrcore::detail {

TuckerConvSpec LayerKind<TuckerConvSpec>::parse(FieldReader& f) {
  TuckerConvSpec s;
  read_convolution_fields(f, s);
  std::tie(s.rank_in, s.rank_out) = f.pair("ranks", std::nullopt, 0);
  if (s.rank_out < 1) f.fail("output rank must be >= 1");
  if (s.rank_in > s.in_channels || s.rank_out > s.out_channels)
    f.fail("ranks [" + std::to_string(s.rank_in) + ", " + std::to_string(s.rank_out) +
           "] exceed the channels [" + std::to_string(s.in_channels) + ", " +
           std::to_string(s.out_channels) + "]");
  return s;
}

void LayerKind<TuckerConvSpec>::write(const TuckerConvSpec& s, json& j) {
  write_convolution_fields(s, j);
  j["ranks"] = {s.rank_in, s.rank_out};
}

void LayerKind<TuckerConvSpec>::tensors(const TuckerConvSpec& s,
                                        std::vector<TensorRequirement>& out) {
  int core_in = s.in_channels;
  if (s.rank_in > 0) {
    out.push_back({s.name + ".in.weight", {s.rank_in, s.in_channels, 1, 1}});
    core_in = s.rank_in;
  }
  out.push_back({s.name + ".core.weight", {s.rank_out, core_in, s.kernel_h, s.kernel_w}});
  out.push_back({s.name + ".out.weight", {s.out_channels, s.rank_out, 1, 1}});
  if (s.bias) out.push_back({s.name + ".out.bias", {s.out_channels}});
}

std::int64_t LayerKind<TuckerConvSpec>::parameters(const TuckerConvSpec& s) {
  const std::int64_t core_in = s.rank_in > 0 ? s.rank_in : s.in_channels;
  return (s.rank_in > 0 ? std::int64_t{s.rank_in} * s.in_channels : 0) +
         std::int64_t{s.rank_out} * core_in * s.kernel_h * s.kernel_w +
         std::int64_t{s.out_channels} * s.rank_out + (s.bias ? s.out_channels : 0);
}

void LayerKind<TuckerConvSpec>::count(const TuckerConvSpec& s, WorkCount& w) {
  const int h_in = w.height, w_in = w.width;
  w.height = conv_out(w.height, s.kernel_h, s.stride_h, s.pad_h);
  w.width = conv_out(w.width, s.kernel_w, s.stride_w, s.pad_w);
  int core_in = s.in_channels;
  if (s.rank_in > 0) {
    w.madds += double(s.in_channels) * s.rank_in * h_in * w_in;
    core_in = s.rank_in;
  }
  w.madds += double(core_in) * s.rank_out * s.kernel_h * s.kernel_w * w.height * w.width;
  w.madds += double(s.rank_out) * s.out_channels * w.height * w.width;
}

void LayerKind<TuckerConvSpec>::lower(const TuckerConvSpec& s, Lowering& l) {
  TuckerOp op;
  int core_in = s.in_channels;
  if (s.rank_in > 0) {
    op.has_in = true;
    op.in =
        make_conv_op(s.in_channels, s.rank_in, 1, 1, 1, 1, 0, 0, l.take(s.name + ".in.weight"), {});
    core_in = s.rank_in;
  }
  op.core = make_conv_op(core_in, s.rank_out, s.kernel_h, s.kernel_w, s.stride_h, s.stride_w,
                         s.pad_h, s.pad_w, l.take(s.name + ".core.weight"), {});
  op.out =
      make_conv_op(s.rank_out, s.out_channels, 1, 1, 1, 1, 0, 0, l.take(s.name + ".out.weight"),
                   s.bias ? l.take(s.name + ".out.bias") : std::vector<float>{});
  l.add(std::move(op));
}

std::string TuckerOp::describe() const {
  const int in_c = has_in ? in.in_channels : core.in_channels;
  return "tucker " + std::to_string(in_c) + "->" + std::to_string(out.out_channels) + " ranks " +
         std::to_string(core.in_channels) + "," + std::to_string(core.out_channels);
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

void register_tucker_conv_layer(LayerKindRegistry& registry) {
  registry.add<TuckerConvSpec>();
}

}  // namespace ocrcore::detail
