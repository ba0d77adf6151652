#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ocrcore/export.hpp"

namespace ocrcore {

namespace detail {
class LayerImpl;
template <class Fields>
class KindLayer;
}  // namespace detail

// One layer of a CNN-DBLSTM-CTC architecture. Its kind and fields are
// ocrcore's own (docs/model-format.md lists the kinds and their JSON): a
// caller sees its type and name, and all of it through Architecture's JSON.
// Adding a kind to ocrcore changes nothing here, so nothing in the ABI.
class OCRCORE_API LayerSpec {
 public:
  // ocrcore's own code makes layers from a kind's fields:
  // LayerSpec(Conv2dSpec{...}) (src/layers/<kind>/<kind>.hpp).
  template <class Fields>
  requires(!std::is_same_v<Fields, LayerSpec>)
      LayerSpec(Fields fields)  // NOLINT(google-explicit-constructor): a layer of that kind
      : impl_(std::make_unique<detail::KindLayer<Fields>>(std::move(fields))) {}
  LayerSpec(const LayerSpec& other);
  LayerSpec(LayerSpec&& other) noexcept;
  LayerSpec& operator=(const LayerSpec& other);
  LayerSpec& operator=(LayerSpec&& other) noexcept;
  ~LayerSpec();

  // "conv2d", "lstm", ...: the JSON type name.
  std::string_view type() const;
  // The prefix of its tensors' names; empty for kinds without tensors.
  std::string_view name() const;

  // ocrcore's own access to the kind: its fields if it is of that kind.
  template <class Fields>
  const Fields* as() const {
    const auto* kind = dynamic_cast<const detail::KindLayer<Fields>*>(impl_.get());
    return kind ? &kind->fields : nullptr;
  }
  template <class Fields>
  Fields* as() {
    auto* kind = dynamic_cast<detail::KindLayer<Fields>*>(impl_.get());
    return kind ? &kind->fields : nullptr;
  }
  template <class Fields>
  bool is() const {
    return as<Fields>() != nullptr;
  }
  // Its fields; throws Error if it is of another kind.
  template <class Fields>
  const Fields& get() const {
    if (const Fields* fields = as<Fields>()) return *fields;
    throw_not_of_kind();
  }
  template <class Fields>
  Fields& get() {
    if (Fields* fields = as<Fields>()) return *fields;
    throw_not_of_kind();
  }
  const detail::LayerImpl& impl() const { return *impl_; }

 private:
  [[noreturn]] OCRCORE_LOCAL void throw_not_of_kind() const;
  std::unique_ptr<detail::LayerImpl> impl_;
};

// Name and shape of one tensor a layer needs.
struct TensorRequirement {
  std::string name;
  std::vector<std::int64_t> shape;
};

struct OCRCORE_API Architecture {
  int input_height = 32;
  int input_channels = 1;
  std::vector<LayerSpec> layers;

  // Parses the JSON of docs/model-format.md; throws Error naming the layer and
  // field at fault.
  static Architecture from_json(std::string_view json);
  // Reads and parses an architecture JSON file; errors name the file.
  static Architecture load(const std::filesystem::path& path);
  std::string to_json() const;

  // Checks that each layer accepts what the previous one produces and that the
  // network ends in per-frame class scores; throws Error naming the layer.
  // Returns the number of output classes.
  int validate() const;
  // Every tensor the layers need, with its shape.
  std::vector<TensorRequirement> required_tensors() const;
  // Horizontal downsampling of the CNN: product of the width strides.
  int width_stride() const;
  // Number of output frames for a line of `width` normalised pixels (0 if too narrow).
  int frames_for_width(int width) const;
  // Parameters (after batch-norm folding: BN adds none at inference).
  std::int64_t parameter_count() const;
  // Multiply-adds x 2 for one line of input_height x `width`.
  double flops(int width) const;
};

}  // namespace ocrcore
