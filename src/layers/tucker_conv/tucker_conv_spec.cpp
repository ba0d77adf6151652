#include "layers/layer_registry.hpp"
#include "layers/tucker_conv/tucker_conv.hpp"
#include "nn/lowering.hpp"

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

void register_tucker_conv_layer(LayerKindRegistry& registry) {
  registry.add<TuckerConvSpec>();
}

}  // namespace ocrcore::detail
