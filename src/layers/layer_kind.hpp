#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ocrcore/architecture.hpp"
#include "ocrcore/error.hpp"

// What the architecture knows about each layer kind, one place per kind
// (src/layers/<kind>/<kind>.hpp): the kind's fields are a plain struct (Spec),
// and LayerKind<Spec> names the kind in JSON, reads and writes its fields,
// checks and propagates the shape, lists its tensors, counts its work and
// lowers it into the compiled network. A LayerSpec holds a KindLayer<Spec>
// behind the LayerImpl interface, so that the architecture, the loader and
// the compiler iterate layers without knowing the kinds; the registry
// (layers/layer_registry.hpp) finds a kind by its JSON name. LayerKind has no
// primary definition, so a kind without its traits does not compile.
namespace ocrcore::detail {

using json = nlohmann::json;

template <class Spec>
struct LayerKind;

class FieldReader;
class ShapeCheck;
struct WorkCount;
class Lowering;  // runtime/graph/lowering.hpp

// One layer's behaviour, whatever its kind.
class LayerImpl {
 public:
  virtual ~LayerImpl() = default;
  virtual std::unique_ptr<LayerImpl> clone() const = 0;
  virtual std::string_view type() const = 0;
  virtual std::string_view name() const = 0;
  virtual void write(json& j) const = 0;
  virtual void check(ShapeCheck& c) const = 0;
  virtual void tensors(std::vector<TensorRequirement>& out) const = 0;
  virtual std::int64_t parameters() const = 0;
  virtual void count(WorkCount& w) const = 0;
  virtual int output_width(int width) const = 0;
  virtual int width_stride() const = 0;
  // Appends the layer's ops to the network being compiled (or folds the
  // layer into the op before it).
  virtual void lower(Lowering& lowering) const = 0;
};

// A layer of kind Spec: its fields and, through LayerKind<Spec>, its behaviour.
template <class Spec>
class KindLayer final : public LayerImpl {
 public:
  using Kind = LayerKind<Spec>;
  explicit KindLayer(Spec f) : fields(std::move(f)) {}
  std::unique_ptr<LayerImpl> clone() const override { return std::make_unique<KindLayer>(fields); }
  std::string_view type() const override { return Kind::type_name; }
  std::string_view name() const override {
    if constexpr (requires { fields.name; })
      return fields.name;
    else
      return {};
  }
  void write(json& j) const override { Kind::write(fields, j); }
  void check(ShapeCheck& c) const override { Kind::check(fields, c); }
  void tensors(std::vector<TensorRequirement>& out) const override { Kind::tensors(fields, out); }
  std::int64_t parameters() const override { return Kind::parameters(fields); }
  void count(WorkCount& w) const override { Kind::count(fields, w); }
  int output_width(int width) const override { return Kind::output_width(fields, width); }
  int width_stride() const override { return Kind::width_stride(fields); }
  void lower(Lowering& lowering) const override { Kind::lower(fields, lowering); }

  Spec fields;
};

// Reads the fields of one layer object, remembering which were used so that
// unknown (misspelt) fields are reported instead of silently ignored.
class FieldReader {
 public:
  FieldReader(const json& object, std::string where) : obj_(object), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& what) const { throw Error(where_ + ": " + what); }

  bool has(const char* key) const { return obj_.contains(key); }
  int integer(const char* key, std::optional<int> fallback = std::nullopt, int min = 0);
  // An int or a [h, w] pair, as PyTorch accepts.
  std::pair<int, int> pair(const char* key, std::optional<std::pair<int, int>> fallback, int min);
  bool boolean(const char* key, bool fallback);
  double number(const char* key, double fallback);
  // A non-empty string.
  std::string string(const char* key);
  const json& raw(const char* key);
  void reject_unknown() const;

 private:
  const json& obj_;
  std::string where_;
  std::set<std::string> used_;
};

// The data between two layers while an architecture is checked: a feature map
// of `channels` x `height` before the collapse, a sequence of `features` after.
struct LayerShape {
  bool sequence = false;
  int channels = 0, height = 0, features = 0;
  // Set by a convolution: a batch norm right after it can fold into it.
  bool after_convolution = false;
};

// Shape checking of one layer, which updates `shape` to its output; the
// errors name the layer.
class ShapeCheck {
 public:
  ShapeCheck(LayerShape& checked, std::string layer)
      : shape(checked), follows_convolution(checked.after_convolution), layer_(std::move(layer)) {
    checked.after_convolution = false;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("architecture: " + layer_ + ": " + what);
  }
  void need_feature_map() const {
    if (shape.sequence) fail("comes after the collapse; it needs a 2-D feature map");
  }
  void need_sequence() const {
    if (!shape.sequence) fail("needs a feature sequence; add a 'collapse' layer before it");
  }
  LayerShape& shape;
  const bool follows_convolution;

 private:
  std::string layer_;
};

// Multiply-adds of one line, counted layer by layer: the spatial size of the
// feature map (the width is the frame count after the collapse).
struct WorkCount {
  int height = 0, width = 0;
  double madds = 0;
};

}  // namespace ocrcore::detail

namespace ocrcore::detail {

// Defaults for kinds without tensors or work that keep the size of the data
// (ReLU, dropout): each may override what differs.
struct ElementwiseLayerKind {
  template <class Spec>
  static void write(const Spec&, json&) {}
  template <class Spec>
  static void tensors(const Spec&, std::vector<TensorRequirement>&) {}
  template <class Spec>
  static std::int64_t parameters(const Spec&) {
    return 0;
  }
  template <class Spec>
  static void count(const Spec&, WorkCount&) {}
  template <class Spec>
  static int output_width(const Spec&, int width) {
    return width;
  }
  template <class Spec>
  static int width_stride(const Spec&) {
    return 1;
  }
};

}  // namespace ocrcore::detail
