#include <string>

#include "layers/conv2d/conv2d_op.hpp"
#include "layers/grouped_conv/grouped_conv.hpp"
#include "layers/layer_registry.hpp"
#include "runtime/graph/lowering.hpp"

namespace ocrcore::detail {

GroupedConvSpec LayerKind<GroupedConvSpec>::parse(FieldReader& f) {
  GroupedConvSpec s;
  read_convolution_fields(f, s);
  s.groups = f.integer("groups", std::nullopt, 1);
  if (s.in_channels % s.groups || s.out_channels % s.groups)
    f.fail("groups " + std::to_string(s.groups) + " must divide in_channels " +
           std::to_string(s.in_channels) + " and out_channels " + std::to_string(s.out_channels));
  return s;
}

void LayerKind<GroupedConvSpec>::tensors(const GroupedConvSpec& s,
                                         std::vector<TensorRequirement>& out) {
  out.push_back(
      {s.name + ".weight", {s.out_channels, s.in_channels / s.groups, s.kernel_h, s.kernel_w}});
  if (s.bias) out.push_back({s.name + ".bias", {s.out_channels}});
}

std::int64_t LayerKind<GroupedConvSpec>::parameters(const GroupedConvSpec& s) {
  return std::int64_t{s.out_channels} * (s.in_channels / s.groups) * s.kernel_h * s.kernel_w +
         (s.bias ? s.out_channels : 0);
}

void LayerKind<GroupedConvSpec>::count(const GroupedConvSpec& s, WorkCount& w) {
  w.height = conv_out(w.height, s.kernel_h, s.stride_h, s.pad_h);
  w.width = conv_out(w.width, s.kernel_w, s.stride_w, s.pad_w);
  w.madds += double(s.out_channels) * (s.in_channels / s.groups) * s.kernel_h * s.kernel_w *
             w.height * w.width;
}

// A convolution op with groups: the engines run it as they run conv2d.
void LayerKind<GroupedConvSpec>::lower(const GroupedConvSpec& s, Lowering& l) {
  ConvOp op = make_conv_op(s.in_channels, s.out_channels, s.kernel_h, s.kernel_w, s.stride_h,
                           s.stride_w, s.pad_h, s.pad_w, l.take(s.name + ".weight"),
                           s.bias ? l.take(s.name + ".bias") : std::vector<float>{});
  op.groups = s.groups;
  op.weight_name = s.name + ".weight";
  l.add(std::move(op));
}

void register_grouped_conv_layer(LayerKindRegistry& registry) {
  registry.add<GroupedConvSpec>();
}

}  // namespace ocrcore::detail
