// Each factor as a Conv named NAME.in / .core / .out; on import, conv2d maps
// each and a regrouping pass reassembles the tucker_conv.

#include "layers/conv2d/conv2d.hpp"
#include "layers/tucker_conv/tucker_conv.hpp"
#include "onnx/layer_onnx.hpp"

namespace ocrcore::onnx_io {

namespace {

void export_tucker_conv(const TuckerConvSpec& t, LayerExport& e) {
  if (t.rank_in > 0) e.conv(t.name + ".in", 1, 1, 1, 1, 0, 0, false);
  e.conv(t.name + ".core", t.kernel_h, t.kernel_w, t.stride_h, t.stride_w, t.pad_h, t.pad_w, false);
  e.conv(t.name + ".out", 1, 1, 1, 1, 0, 0, t.bias);
}

// The import maps each factor to a conv2d; this pass regroups N.in (if
// any), N.core and N.out into the tucker_conv N (their tensors already carry
// its names).
void regroup_tucker_convs(ImportedModel& model) {
  auto& layers = model.architecture.layers;
  auto conv_named = [&](std::size_t i, const std::string& name) -> const Conv2dSpec* {
    const auto* c = i < layers.size() ? layers[i].as<Conv2dSpec>() : nullptr;
    return c && c->name == name ? c : nullptr;
  };
  const std::string core_suffix = ".core";
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto* core = layers[i].as<Conv2dSpec>();
    if (!core || core->bias || core->name.size() <= core_suffix.size() ||
        core->name.compare(core->name.size() - core_suffix.size(), core_suffix.size(),
                           core_suffix) != 0)
      continue;
    const std::string base = core->name.substr(0, core->name.size() - core_suffix.size());
    const Conv2dSpec* out = conv_named(i + 1, base + ".out");
    if (!out || out->kernel_h != 1 || out->kernel_w != 1 || out->stride_h != 1 ||
        out->stride_w != 1 || out->pad_h != 0 || out->pad_w != 0)
      continue;
    const Conv2dSpec* in = i > 0 ? conv_named(i - 1, base + ".in") : nullptr;
    TuckerConvSpec t;
    t.name = base;
    t.in_channels = in ? in->in_channels : core->in_channels;
    t.out_channels = out->out_channels;
    t.kernel_h = core->kernel_h, t.kernel_w = core->kernel_w;
    t.stride_h = core->stride_h, t.stride_w = core->stride_w;
    t.pad_h = core->pad_h, t.pad_w = core->pad_w;
    t.rank_in = in ? in->out_channels : 0;
    t.rank_out = core->out_channels;
    t.bias = out->bias;
    const std::size_t first = in ? i - 1 : i;
    layers.erase(layers.begin() + static_cast<std::ptrdiff_t>(first),
                 layers.begin() + static_cast<std::ptrdiff_t>(i + 2));
    layers.insert(layers.begin() + static_cast<std::ptrdiff_t>(first), LayerSpec(t));
    i = first;
  }
}

}  // namespace

void register_tucker_conv_onnx(OnnxLayerRegistry& registry) {
  registry.add_export<TuckerConvSpec, export_tucker_conv>();
  registry.add_regroup(regroup_tucker_convs);
}

}  // namespace ocrcore::onnx_io
