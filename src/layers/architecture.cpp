#include "ocrcore/architecture.hpp"

#include "layers/layer_registry.hpp"
#include "ocrcore/error.hpp"
#include "runtime/core/file_io.hpp"

// The architecture as a whole; what each layer kind contributes (its JSON,
// shape, tensors, work and lowering) is in src/layers/<kind>/, found through
// the registry.
namespace ocrcore {

namespace {

using detail::FieldReader;
using detail::json;

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
  const auto& kinds = detail::layer_kinds();
  const auto* kind = kinds.find(type);
  if (!kind)
    throw Error(where + ": unknown layer type '" + type + "' (known: " + kinds.known_types() + ")");
  FieldReader f(j, where);
  f.string("type");
  LayerSpec out = kind->parse(f);
  f.reject_unknown();
  return out;
}

json layer_to_json(const LayerSpec& layer) {
  json j;
  j["type"] = std::string(layer.type());
  layer.impl().write(j);
  return j;
}

std::string describe(const LayerSpec& layer, std::size_t index) {
  std::string s = "layer " + std::to_string(index) + " (" + std::string(layer.type());
  if (!layer.name().empty()) s += " '" + std::string(layer.name()) + "'";
  return s + ")";
}

}  // namespace

LayerSpec::LayerSpec(const LayerSpec& other) : impl_(other.impl_->clone()) {}
LayerSpec::LayerSpec(LayerSpec&& other) noexcept = default;
LayerSpec& LayerSpec::operator=(const LayerSpec& other) {
  if (this != &other) impl_ = other.impl_->clone();
  return *this;
}
LayerSpec& LayerSpec::operator=(LayerSpec&& other) noexcept = default;
LayerSpec::~LayerSpec() = default;

std::string_view LayerSpec::type() const {
  return impl_->type();
}
std::string_view LayerSpec::name() const {
  return impl_->name();
}
void LayerSpec::throw_not_of_kind() const {
  throw Error("layer " + std::string(type()) +
                  (name().empty() ? std::string() : " '" + std::string(name()) + "'") +
                  " is not of the kind asked for",
              ErrorKind::internal);
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
    layers[i].impl().check(check);
    if (shape.height < 1) check.fail("reduces the height to " + std::to_string(shape.height));
  }
  if (!shape.sequence)
    throw Error("architecture: no 'collapse' layer turns the feature map into frames");
  if (layers.back().type() != "linear")
    throw Error("architecture: the last layer must be 'linear' (per-frame class scores)");
  if (shape.features < 2)
    throw Error("architecture: the output needs at least 2 classes (blank + 1)");
  return shape.features;
}

int detail::first_sequence_layer(const Architecture& a) {
  detail::LayerShape shape;
  shape.channels = a.input_channels;
  shape.height = a.input_height;
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    if (shape.sequence) return static_cast<int>(i);
    detail::ShapeCheck check(shape, describe(a.layers[i], i));
    a.layers[i].impl().check(check);
  }
  return -1;
}

std::vector<TensorRequirement> Architecture::required_tensors() const {
  std::vector<TensorRequirement> out;
  for (const auto& layer : layers)
    layer.impl().tensors(out);
  return out;
}

int Architecture::width_stride() const {
  int stride = 1;
  for (const auto& layer : layers)
    stride *= layer.impl().width_stride();
  return stride;
}

int Architecture::frames_for_width(int width) const {
  for (const auto& layer : layers) {
    if (width < 1) return 0;
    width = layer.impl().output_width(width);
  }
  return std::max(width, 0);
}

std::int64_t Architecture::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& layer : layers)
    n += layer.impl().parameters();
  return n;
}

double Architecture::flops(int width) const {
  detail::WorkCount work{input_height, width, 0.0};
  for (const auto& layer : layers)
    layer.impl().count(work);
  return 2 * work.madds;
}

}  // namespace ocrcore
