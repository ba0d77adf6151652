#include "ocrcore/architecture.hpp"

#include "core/file_io.hpp"
#include "layers/layer_kinds.hpp"
#include "ocrcore/error.hpp"

// The architecture as a whole; what each layer kind contributes (its JSON,
// shape, tensors and work) is in src/layers/<kind>/.
namespace ocrcore {

namespace {

using detail::FieldReader;
using detail::json;
using detail::LayerKind;
using detail::visit_layer_kind;

// The kinds' JSON type names, in LayerSpec's order.
template <std::size_t... I>
constexpr auto type_names(std::index_sequence<I...>) {
  return std::array<std::string_view, sizeof...(I)>{
      LayerKind<std::variant_alternative_t<I, LayerSpec>>::type_name...};
}
constexpr auto kTypeNames = type_names(std::make_index_sequence<std::variant_size_v<LayerSpec>>{});

template <std::size_t I = 0>
LayerSpec parse_kind(std::string_view type, FieldReader& f, const std::string& where) {
  if constexpr (I == std::variant_size_v<LayerSpec>) {
    std::string known;
    for (std::string_view name : kTypeNames)
      known += (known.empty() ? "" : ", ") + std::string(name);
    throw Error(where + ": unknown layer type '" + std::string(type) + "' (known: " + known + ")");
  } else {
    using Spec = std::variant_alternative_t<I, LayerSpec>;
    if (type == LayerKind<Spec>::type_name) return LayerKind<Spec>::parse(f);
    return parse_kind<I + 1>(type, f, where);
  }
}

LayerSpec parse_layer(const json& j, std::size_t index) {
  std::string where = "layer " + std::to_string(index);
  if (!j.is_object()) throw Error(where + ": not a JSON object");
  if (!j.contains("type") || !j["type"].is_string())
    throw Error(where + ": missing string field 'type'");
  const std::string type = j["type"].get<std::string>();
  where += " (" + type +
           (j.contains("name") && j["name"].is_string() ? " '" + j["name"].get<std::string>() + "'"
                                                        : std::string()) +
           ")";
  FieldReader f(j, where);
  f.string("type");
  LayerSpec out = parse_kind(type, f, where);
  f.reject_unknown();
  return out;
}

json layer_to_json(const LayerSpec& layer) {
  json j;
  j["type"] = std::string(layer_type_name(layer));
  visit_layer_kind(layer, [&](const auto& spec, auto kind) { kind.write(spec, j); });
  return j;
}

std::string describe(const LayerSpec& layer, std::size_t index) {
  std::string s = "layer " + std::to_string(index) + " (" + std::string(layer_type_name(layer));
  std::visit(
      [&](const auto& spec) {
        if constexpr (requires { spec.name; }) s += " '" + spec.name + "'";
      },
      layer);
  return s + ")";
}

}  // namespace

std::string_view layer_type_name(const LayerSpec& layer) {
  return kTypeNames[layer.index()];
}

Architecture Architecture::load(const std::filesystem::path& path) {
  const std::string text = detail::read_text_file(path);
  try {
    return from_json(text);
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
}

Architecture Architecture::from_json(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(std::string("architecture is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw Error("architecture is not a JSON object");
  FieldReader f(j, "architecture");
  Architecture a;
  a.input_height = f.integer("input_height", std::nullopt, 1);
  a.input_channels = f.integer("input_channels", 1, 1);
  if (a.input_channels != 1) f.fail("only grey (1-channel) input is supported");
  if (!j.contains("layers") || !j["layers"].is_array()) f.fail("missing array field 'layers'");
  const json& layers = f.raw("layers");
  for (std::size_t i = 0; i < layers.size(); ++i)
    a.layers.push_back(parse_layer(layers[i], i));
  f.reject_unknown();
  a.validate();
  return a;
}

std::string Architecture::to_json() const {
  json j;
  j["input_height"] = input_height;
  j["input_channels"] = input_channels;
  j["layers"] = json::array();
  for (const auto& l : layers)
    j["layers"].push_back(layer_to_json(l));
  return j.dump();
}

int Architecture::validate() const {
  if (input_height < 1) throw Error("architecture: input_height must be >= 1");
  if (layers.empty()) throw Error("architecture: no layers");
  detail::LayerShape shape;
  shape.channels = input_channels;
  shape.height = input_height;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    detail::ShapeCheck check(shape, describe(layers[i], i));
    visit_layer_kind(layers[i], [&](const auto& spec, auto kind) { kind.check(spec, check); });
    if (shape.height < 1) check.fail("reduces the height to " + std::to_string(shape.height));
  }
  if (!shape.sequence)
    throw Error("architecture: no 'collapse' layer turns the feature map into frames");
  if (!std::holds_alternative<LinearSpec>(layers.back()))
    throw Error("architecture: the last layer must be 'linear' (per-frame class scores)");
  if (shape.features < 2)
    throw Error("architecture: the output needs at least 2 classes (blank + 1)");
  return shape.features;
}

std::vector<TensorRequirement> Architecture::required_tensors() const {
  std::vector<TensorRequirement> out;
  for (const auto& layer : layers)
    visit_layer_kind(layer, [&](const auto& spec, auto kind) { kind.tensors(spec, out); });
  return out;
}

int Architecture::width_stride() const {
  int stride = 1;
  for (const auto& layer : layers)
    stride *= visit_layer_kind(layer,
                               [](const auto& spec, auto kind) { return kind.width_stride(spec); });
  return stride;
}

int Architecture::frames_for_width(int width) const {
  for (const auto& layer : layers) {
    if (width < 1) return 0;
    width = visit_layer_kind(
        layer, [&](const auto& spec, auto kind) { return kind.output_width(spec, width); });
  }
  return std::max(width, 0);
}

std::int64_t Architecture::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& layer : layers)
    n += visit_layer_kind(layer, [](const auto& spec, auto kind) { return kind.parameters(spec); });
  return n;
}

double Architecture::flops(int width) const {
  detail::WorkCount work{input_height, width, 0.0};
  for (const auto& layer : layers)
    visit_layer_kind(layer, [&](const auto& spec, auto kind) { kind.count(spec, work); });
  return 2 * work.madds;
}

}  // namespace ocrcore
