#include "ocrcore/architecture.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "core/file_io.hpp"
#include "core/overloaded.hpp"
#include "nn/shapes.hpp"
#include "ocrcore/error.hpp"

namespace ocrcore {

namespace {

using json = nlohmann::json;

using detail::Overloaded;

// Reads the fields of one layer object, remembering which were used so that
// unknown (misspelt) fields are reported instead of silently ignored.
class FieldReader {
 public:
  FieldReader(const json& object, std::string where) : obj_(object), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& what) const { throw Error(where_ + ": " + what); }

  bool has(const char* key) const { return obj_.contains(key); }

  int integer(const char* key, std::optional<int> fallback = std::nullopt, int min = 0) {
    used_.insert(key);
    if (!obj_.contains(key)) {
      if (fallback) return *fallback;
      fail(std::string("missing field '") + key + "'");
    }
    const json& v = obj_[key];
    if (!v.is_number_integer()) fail(std::string("field '") + key + "' must be an integer");
    auto x = v.get<std::int64_t>();
    if (x < min || x > (1 << 24))
      fail(std::string("field '") + key + "' = " + std::to_string(x) + " is out of range");
    return static_cast<int>(x);
  }

  // An int or a [h, w] pair, as PyTorch accepts.
  std::pair<int, int> pair(const char* key, std::optional<std::pair<int, int>> fallback, int min) {
    used_.insert(key);
    if (!obj_.contains(key)) {
      if (fallback) return *fallback;
      fail(std::string("missing field '") + key + "'");
    }
    const json& v = obj_[key];
    auto check = [&](const json& x) {
      if (!x.is_number_integer() || x.get<std::int64_t>() < min || x.get<std::int64_t>() > 65536)
        fail(std::string("field '") + key + "' must be an integer >= " + std::to_string(min) +
             " or a pair of them");
      return x.get<int>();
    };
    if (v.is_array()) {
      if (v.size() != 2) fail(std::string("field '") + key + "' must have 2 values [h, w]");
      return {check(v[0]), check(v[1])};
    }
    int x = check(v);
    return {x, x};
  }

  bool boolean(const char* key, bool fallback) {
    used_.insert(key);
    if (!obj_.contains(key)) return fallback;
    if (!obj_[key].is_boolean()) fail(std::string("field '") + key + "' must be true or false");
    return obj_[key].get<bool>();
  }

  double number(const char* key, double fallback) {
    used_.insert(key);
    if (!obj_.contains(key)) return fallback;
    if (!obj_[key].is_number()) fail(std::string("field '") + key + "' must be a number");
    return obj_[key].get<double>();
  }

  std::string string(const char* key) {
    used_.insert(key);
    if (!obj_.contains(key) || !obj_[key].is_string() || obj_[key].get<std::string>().empty())
      fail(std::string("field '") + key + "' must be a non-empty string");
    return obj_[key].get<std::string>();
  }

  const json& raw(const char* key) {
    used_.insert(key);
    return obj_.at(key);
  }

  void reject_unknown() const {
    for (auto& [key, value] : obj_.items())
      if (!used_.count(key)) fail("unknown field '" + key + "'");
  }

 private:
  const json& obj_;
  std::string where_;
  std::set<std::string> used_;
};

LayerSpec parse_layer(const json& j, std::size_t index) {
  std::string where = "layer " + std::to_string(index);
  if (!j.is_object()) throw Error(where + ": not a JSON object");
  if (!j.contains("type") || !j["type"].is_string())
    throw Error(where + ": missing string field 'type'");
  std::string type = j["type"].get<std::string>();
  where += " (" + type +
           (j.contains("name") && j["name"].is_string() ? " '" + j["name"].get<std::string>() + "'"
                                                        : std::string()) +
           ")";
  FieldReader f(j, where);
  f.string("type");
  LayerSpec out;
  if (type == "conv2d" || type == "tucker_conv") {
    auto read_conv = [&](auto& s) {
      s.name = f.string("name");
      s.in_channels = f.integer("in_channels", std::nullopt, 1);
      s.out_channels = f.integer("out_channels", std::nullopt, 1);
      std::tie(s.kernel_h, s.kernel_w) = f.pair("kernel_size", std::nullopt, 1);
      std::tie(s.stride_h, s.stride_w) = f.pair("stride", std::pair{1, 1}, 1);
      std::tie(s.pad_h, s.pad_w) = f.pair("padding", std::pair{0, 0}, 0);
      s.bias = f.boolean("bias", true);
    };
    if (type == "conv2d") {
      Conv2dSpec s;
      read_conv(s);
      out = s;
    } else {
      TuckerConvSpec s;
      read_conv(s);
      std::tie(s.rank_in, s.rank_out) = f.pair("ranks", std::nullopt, 0);
      if (s.rank_out < 1) f.fail("output rank must be >= 1");
      if (s.rank_in > s.in_channels || s.rank_out > s.out_channels)
        f.fail("ranks [" + std::to_string(s.rank_in) + ", " + std::to_string(s.rank_out) +
               "] exceed the channels [" + std::to_string(s.in_channels) + ", " +
               std::to_string(s.out_channels) + "]");
      out = s;
    }
  } else if (type == "batchnorm2d") {
    BatchNormSpec s;
    s.name = f.string("name");
    s.num_features = f.integer("num_features", std::nullopt, 1);
    s.eps = static_cast<float>(f.number("eps", 1e-5));
    if (!(s.eps > 0)) f.fail("eps must be > 0");
    f.number("momentum", 0.1);  // training-only, accepted for PyTorch parity
    f.boolean("affine", true);
    out = s;
  } else if (type == "relu") {
    out = ReluSpec{};
  } else if (type == "maxpool2d") {
    MaxPoolSpec s;
    std::tie(s.kernel_h, s.kernel_w) = f.pair("kernel_size", std::nullopt, 1);
    std::tie(s.stride_h, s.stride_w) = f.pair("stride", std::pair{s.kernel_h, s.kernel_w}, 1);
    std::tie(s.pad_h, s.pad_w) = f.pair("padding", std::pair{0, 0}, 0);
    s.ceil_mode = f.boolean("ceil_mode", false);
    if (2 * s.pad_h > s.kernel_h || 2 * s.pad_w > s.kernel_w)
      f.fail("padding must be at most half the kernel size");
    out = s;
  } else if (type == "dropout") {
    DropoutSpec s;
    s.p = static_cast<float>(f.number("p", 0.0));
    if (s.p < 0 || s.p >= 1) f.fail("p must be in [0, 1)");
    out = s;
  } else if (type == "collapse") {
    out = CollapseSpec{};
  } else if (type == "lstm") {
    LstmSpec s;
    s.name = f.string("name");
    s.input_size = f.integer("input_size", std::nullopt, 1);
    s.hidden_size = f.integer("hidden_size", std::nullopt, 1);
    s.num_layers = f.integer("num_layers", 1, 1);
    s.bidirectional = f.boolean("bidirectional", true);
    if (!f.boolean("bias", true)) f.fail("LSTM without bias is not supported");
    out = s;
  } else if (type == "linear") {
    LinearSpec s;
    s.name = f.string("name");
    s.in_features = f.integer("in_features", std::nullopt, 1);
    s.out_features = f.integer("out_features", std::nullopt, 1);
    s.bias = f.boolean("bias", true);
    out = s;
  } else {
    throw Error(where + ": unknown layer type '" + type +
                "' (known: conv2d, tucker_conv, batchnorm2d, relu, maxpool2d, dropout, "
                "collapse, lstm, linear)");
  }
  f.reject_unknown();
  return out;
}

json layer_to_json(const LayerSpec& layer) {
  json j;
  j["type"] = std::string(layer_type_name(layer));
  auto conv_fields = [&](const auto& s) {
    j["name"] = s.name;
    j["in_channels"] = s.in_channels;
    j["out_channels"] = s.out_channels;
    j["kernel_size"] = {s.kernel_h, s.kernel_w};
    j["stride"] = {s.stride_h, s.stride_w};
    j["padding"] = {s.pad_h, s.pad_w};
    j["bias"] = s.bias;
  };
  std::visit(Overloaded{
                 [&](const Conv2dSpec& s) { conv_fields(s); },
                 [&](const TuckerConvSpec& s) {
                   conv_fields(s);
                   j["ranks"] = {s.rank_in, s.rank_out};
                 },
                 [&](const BatchNormSpec& s) {
                   j["name"] = s.name;
                   j["num_features"] = s.num_features;
                   j["eps"] = s.eps;
                 },
                 [&](const ReluSpec&) {},
                 [&](const MaxPoolSpec& s) {
                   j["kernel_size"] = {s.kernel_h, s.kernel_w};
                   j["stride"] = {s.stride_h, s.stride_w};
                   j["padding"] = {s.pad_h, s.pad_w};
                   j["ceil_mode"] = s.ceil_mode;
                 },
                 [&](const DropoutSpec& s) { j["p"] = s.p; },
                 [&](const CollapseSpec&) {},
                 [&](const LstmSpec& s) {
                   j["name"] = s.name;
                   j["input_size"] = s.input_size;
                   j["hidden_size"] = s.hidden_size;
                   j["num_layers"] = s.num_layers;
                   j["bidirectional"] = s.bidirectional;
                 },
                 [&](const LinearSpec& s) {
                   j["name"] = s.name;
                   j["in_features"] = s.in_features;
                   j["out_features"] = s.out_features;
                   j["bias"] = s.bias;
                 },
             },
             layer);
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
  static constexpr std::string_view names[] = {"conv2d",   "tucker_conv", "batchnorm2d",
                                               "relu",     "maxpool2d",   "dropout",
                                               "collapse", "lstm",        "linear"};
  static_assert(std::variant_size_v<LayerSpec> == std::size(names));
  return names[layer.index()];
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
  // Shape state: spatial (channels x height) before the collapse, a sequence of
  // `features` after it.
  bool sequence = false;
  int channels = input_channels, height = input_height, features = 0;
  bool after_conv = false;  // may a batch norm fold into the previous layer?
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& layer = layers[i];
    auto fail = [&](const std::string& what) -> Error {
      return Error("architecture: " + describe(layer, i) + ": " + what);
    };
    auto need_spatial = [&] {
      if (sequence) throw fail("comes after the collapse; it needs a 2-D feature map");
    };
    auto need_sequence = [&] {
      if (!sequence) throw fail("needs a feature sequence; add a 'collapse' layer before it");
    };
    bool conv_like = false;
    auto convolution = [&](const auto& s) {
      need_spatial();
      if (s.in_channels != channels)
        throw fail("in_channels " + std::to_string(s.in_channels) + " but the input has " +
                   std::to_string(channels) + " channels");
      height = detail::conv_out(height, s.kernel_h, s.stride_h, s.pad_h);
      channels = s.out_channels;
      conv_like = true;
    };
    std::visit(
        Overloaded{
            [&](const Conv2dSpec& s) { convolution(s); },
            [&](const TuckerConvSpec& s) { convolution(s); },
            [&](const BatchNormSpec& s) {
              need_spatial();
              if (!after_conv)
                throw fail("must directly follow a conv2d or tucker_conv (it is folded into it)");
              if (s.num_features != channels)
                throw fail("num_features " + std::to_string(s.num_features) +
                           " but the input has " + std::to_string(channels) + " channels");
            },
            [&](const ReluSpec&) {},
            [&](const MaxPoolSpec& s) {
              need_spatial();
              height = detail::pool_out(height, s.kernel_h, s.stride_h, s.pad_h, s.ceil_mode);
            },
            [&](const DropoutSpec&) {},
            [&](const CollapseSpec&) {
              need_spatial();
              sequence = true;
              features = channels * height;
            },
            [&](const LstmSpec& s) {
              need_sequence();
              if (s.input_size != features)
                throw fail("input_size " + std::to_string(s.input_size) + " but the input has " +
                           std::to_string(features) + " features");
              features = s.hidden_size * (s.bidirectional ? 2 : 1);
            },
            [&](const LinearSpec& s) {
              need_sequence();
              if (s.in_features != features)
                throw fail("in_features " + std::to_string(s.in_features) + " but the input has " +
                           std::to_string(features) + " features");
              features = s.out_features;
            },
        },
        layer);
    if (height < 1) throw fail("reduces the height to " + std::to_string(height));
    after_conv = conv_like;
  }
  if (!sequence) throw Error("architecture: no 'collapse' layer turns the feature map into frames");
  if (!std::holds_alternative<LinearSpec>(layers.back()))
    throw Error("architecture: the last layer must be 'linear' (per-frame class scores)");
  if (features < 2) throw Error("architecture: the output needs at least 2 classes (blank + 1)");
  return features;
}

std::vector<TensorRequirement> Architecture::required_tensors() const {
  std::vector<TensorRequirement> out;
  using Shape = std::vector<std::int64_t>;
  for (const auto& layer : layers) {
    std::visit(
        Overloaded{
            [&](const Conv2dSpec& s) {
              out.push_back({s.name + ".weight",
                             Shape{s.out_channels, s.in_channels, s.kernel_h, s.kernel_w}});
              if (s.bias) out.push_back({s.name + ".bias", Shape{s.out_channels}});
            },
            [&](const TuckerConvSpec& s) {
              int core_in = s.in_channels;
              if (s.rank_in > 0) {
                out.push_back({s.name + ".in.weight", Shape{s.rank_in, s.in_channels, 1, 1}});
                core_in = s.rank_in;
              }
              out.push_back(
                  {s.name + ".core.weight", Shape{s.rank_out, core_in, s.kernel_h, s.kernel_w}});
              out.push_back({s.name + ".out.weight", Shape{s.out_channels, s.rank_out, 1, 1}});
              if (s.bias) out.push_back({s.name + ".out.bias", Shape{s.out_channels}});
            },
            [&](const BatchNormSpec& s) {
              for (const char* t : {".weight", ".bias", ".running_mean", ".running_var"})
                out.push_back({s.name + t, Shape{s.num_features}});
            },
            [&](const LstmSpec& s) {
              const std::int64_t g = 4 * s.hidden_size;
              for (int l = 0; l < s.num_layers; ++l) {
                std::int64_t in = l == 0 ? s.input_size : s.hidden_size * s.directions();
                for (int d = 0; d < s.directions(); ++d) {
                  LstmTensorNames n = s.tensor_names(l, d);
                  out.push_back({std::move(n.weight_ih), Shape{g, in}});
                  out.push_back({std::move(n.weight_hh), Shape{g, s.hidden_size}});
                  out.push_back({std::move(n.bias_ih), Shape{g}});
                  out.push_back({std::move(n.bias_hh), Shape{g}});
                }
              }
            },
            [&](const LinearSpec& s) {
              out.push_back({s.name + ".weight", Shape{s.out_features, s.in_features}});
              if (s.bias) out.push_back({s.name + ".bias", Shape{s.out_features}});
            },
            [](const auto&) {},
        },
        layer);
  }
  return out;
}

int Architecture::width_stride() const {
  int stride = 1;
  for (const auto& layer : layers) {
    if (auto* c = std::get_if<Conv2dSpec>(&layer)) stride *= c->stride_w;
    if (auto* t = std::get_if<TuckerConvSpec>(&layer)) stride *= t->stride_w;
    if (auto* p = std::get_if<MaxPoolSpec>(&layer)) stride *= p->stride_w;
  }
  return stride;
}

int Architecture::frames_for_width(int width) const {
  for (const auto& layer : layers) {
    if (width < 1) return 0;
    if (auto* c = std::get_if<Conv2dSpec>(&layer))
      width = detail::conv_out(width, c->kernel_w, c->stride_w, c->pad_w);
    if (auto* t = std::get_if<TuckerConvSpec>(&layer))
      width = detail::conv_out(width, t->kernel_w, t->stride_w, t->pad_w);
    if (auto* p = std::get_if<MaxPoolSpec>(&layer))
      width = detail::pool_out(width, p->kernel_w, p->stride_w, p->pad_w, p->ceil_mode);
  }
  return std::max(width, 0);
}

std::int64_t Architecture::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& t : required_tensors()) {
    if (t.name.ends_with(".running_mean") || t.name.ends_with(".running_var")) continue;
    bool bn = false;
    for (const auto& layer : layers)
      if (auto* b = std::get_if<BatchNormSpec>(&layer))
        bn |= t.name == b->name + ".weight" || t.name == b->name + ".bias";
    if (bn) continue;  // folded into the convolution at inference
    std::int64_t k = 1;
    for (auto d : t.shape)
      k *= d;
    n += k;
  }
  return n;
}

double Architecture::flops(int width) const {
  double madds = 0;
  int h = input_height, w = width;
  for (const auto& layer : layers) {
    std::visit(
        Overloaded{
            [&](const Conv2dSpec& s) {
              h = detail::conv_out(h, s.kernel_h, s.stride_h, s.pad_h);
              w = detail::conv_out(w, s.kernel_w, s.stride_w, s.pad_w);
              madds += double(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w * h * w;
            },
            [&](const TuckerConvSpec& s) {
              int hin = h, win = w;
              h = detail::conv_out(h, s.kernel_h, s.stride_h, s.pad_h);
              w = detail::conv_out(w, s.kernel_w, s.stride_w, s.pad_w);
              int core_in = s.in_channels;
              if (s.rank_in > 0) {
                madds += double(s.in_channels) * s.rank_in * hin * win;
                core_in = s.rank_in;
              }
              madds += double(core_in) * s.rank_out * s.kernel_h * s.kernel_w * h * w;
              madds += double(s.rank_out) * s.out_channels * h * w;
            },
            [&](const MaxPoolSpec& s) {
              h = detail::pool_out(h, s.kernel_h, s.stride_h, s.pad_h, s.ceil_mode);
              w = detail::pool_out(w, s.kernel_w, s.stride_w, s.pad_w, s.ceil_mode);
            },
            [&](const LstmSpec& s) {
              const int dirs = s.bidirectional ? 2 : 1;
              for (int l = 0; l < s.num_layers; ++l) {
                double in = l == 0 ? s.input_size : double(s.hidden_size) * dirs;
                madds += dirs * double(w) * 4 * s.hidden_size * (in + s.hidden_size);
              }
            },
            [&](const LinearSpec& s) { madds += double(w) * s.in_features * s.out_features; },
            [](const auto&) {},
        },
        layer);
  }
  return 2 * madds;
}

}  // namespace ocrcore
