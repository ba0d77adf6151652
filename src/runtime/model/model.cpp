#include "ocrcore/model.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "ocrcore/error.hpp"
#include "ocrcore/metrics.hpp"
#include "runtime/core/file_io.hpp"
#include "runtime/core/preprocessing_json.hpp"
#include "runtime/core/safetensors.hpp"
#include "runtime/graph/compiled_network.hpp"
#include "runtime/graph/quantization.hpp"
#include "runtime/model/model_access.hpp"

namespace ocrcore {

struct Model::Impl {
  std::string source;
  Architecture architecture;
  std::vector<std::string> alphabet;
  Preprocessing preprocessing;
  // A loaded model's weights live in `network` alone: the tensors as stored
  // are read from `file` again when tensors() is first called (converters and
  // trainers), never in a process that only recognises.
  mutable TensorMap tensors;
  std::unique_ptr<detail::OpenFile> file;
  std::string file_header;  // its first bytes at load: a file rewritten in place is refused
  mutable std::once_flag tensors_read;
  std::map<std::string, std::string> metadata;
  Precision stored_weights = Precision::fp32;
  detail::CompiledNetwork network;
  // Engines' prepared forms of `network`, by engine and settings.
  mutable std::mutex prepared_mutex;
  mutable std::map<std::string, std::shared_ptr<const detail::PreparedWeights>> prepared;

  void describe_file(const detail::SafetensorsView& view);
};

namespace {

using json = nlohmann::json;

const char* kKeyVersion = "ocrcore.format_version";
const char* kKeyArchitecture = "ocrcore.architecture";
const char* kKeyAlphabet = "ocrcore.alphabet";
const char* kKeyPreprocessing = detail::kPreprocessingKey;

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Every check that does not need the tensor values: alphabet size, tensors
// present with the right shape and no unknown ones.
void check_alphabet(const std::vector<std::string>& alphabet, int classes) {
  if (static_cast<int>(alphabet.size()) != classes)
    throw Error("alphabet has " + std::to_string(alphabet.size()) +
                " entries (blank included) but the output layer has " + std::to_string(classes) +
                " classes");
  for (std::size_t i = 1; i < alphabet.size(); ++i) {
    if (alphabet[i].empty()) throw Error("alphabet entry " + std::to_string(i) + " is empty");
    if (!is_valid_utf8(alphabet[i]))
      throw Error("alphabet entry " + std::to_string(i) + " is not valid UTF-8");
  }
}

bool ignorable_tensor(const std::string& name) {
  // PyTorch's BatchNorm bookkeeping; meaningless at inference.
  return name.ends_with(".num_batches_tracked");
}

// An I8 tensor N comes with its F32 scale per row, N + this.
const char* kInt8ScaleSuffix = "_scale";
// "int8" in files written with Precision::int8 (informative).
const char* kKeyWeights = "ocrcore.weights";

// The tensors the engines run in int8, so stored as I8 in an int8 file: the
// weights of the int8 convolutions and the LSTMs' matrices.
std::vector<std::string> int8_weight_names(const Model& model) {
  std::vector<std::string> names;
  const detail::CompiledNetwork& network = ModelAccess::network(model);
  const std::vector<bool> int8 = detail::int8_convolutions(network);
  for (std::size_t i = 0; i < network.ops.size(); ++i)
    network.ops[i]->int8_stored_tensors(int8[i], names);
  return names;
}

// The values of the tensors the layers need (dtype checked here; build()
// reports missing ones, wrong shapes and non-finite values). With `release`,
// the file's pages are given back as they are copied, so that loading holds
// the weights once, not twice.
TensorMap read_tensors(const detail::SafetensorsView& view, const Architecture& architecture,
                       const detail::MappedFile* release) {
  auto done = [&](const detail::SafetensorsEntry& e) {
    if (release) release->release(view.data - release->data() + e.begin, e.end - e.begin);
  };
  TensorMap tensors;
  std::set<std::string> needed;
  for (const auto& r : architecture.required_tensors()) {
    needed.insert(r.name);
    const auto it = view.entries.find(r.name);
    if (it == view.entries.end()) continue;
    if (it->second.dtype != "I8") {
      tensors[r.name] = detail::read_f32_tensor(view, r.name);
      done(it->second);
      continue;
    }
    // I8 with per-row scales (save_model with Precision::int8).
    const std::string scale_name = r.name + kInt8ScaleSuffix;
    const auto& shape = it->second.shape;
    if (!view.entries.count(scale_name))
      throw Error("tensor '" + r.name + "' is I8 but '" + scale_name +
                  "' (its scale per row) is missing");
    Tensor scale = detail::read_f32_tensor(view, scale_name);
    if (shape.empty() || scale.shape != std::vector<std::int64_t>{shape[0]})
      throw Error("tensor '" + scale_name + "' has shape " + shape_text(scale.shape) +
                  ", expected [" + (shape.empty() ? "?" : std::to_string(shape[0])) +
                  "] (one scale per row of '" + r.name + "')");
    needed.insert(scale_name);
    detail::Int8Rows q{detail::read_i8_values(view, r.name), std::move(scale.data)};
    done(it->second);
    Tensor& t = tensors[r.name];
    t.shape = shape;
    t.data = detail::dequantize_rows(q);
  }
  for (const auto& [name, e] : view.entries)
    if (!needed.count(name) && !ignorable_tensor(name))
      throw Error("tensor '" + name + "' is not used by any layer of the architecture");
  return tensors;
}

// An error met reading or building a model, named by its source: what is
// wrong with the parts makes the model bad; I/O failures and the rest keep
// their kind.
Error model_error(const std::string& source, const Error& e) {
  const ErrorKind kind = e.kind() == ErrorKind::bad_input ? ErrorKind::bad_model : e.kind();
  return Error(source + ": " + e.what(), kind);
}

}  // namespace

std::unique_ptr<Model::Impl> Model::build(Architecture architecture,
                                          std::vector<std::string> alphabet,
                                          Preprocessing preprocessing, TensorMap tensors,
                                          bool keep_tensors) {
  int classes = architecture.validate();
  check_alphabet(alphabet, classes);
  if (preprocessing.height != architecture.input_height)
    throw Error("preprocessing height " + std::to_string(preprocessing.height) +
                " differs from the architecture's input_height " +
                std::to_string(architecture.input_height));
  for (const auto& r : architecture.required_tensors()) {
    auto it = tensors.find(r.name);
    if (it == tensors.end())
      throw Error("tensor '" + r.name + "' is missing (expected shape " + shape_text(r.shape) +
                  ")");
    if (it->second.shape != r.shape ||
        static_cast<std::int64_t>(it->second.data.size()) != it->second.numel())
      throw Error("tensor '" + r.name + "' has shape " + shape_text(it->second.shape) +
                  ", expected " + shape_text(r.shape));
    const auto& values = it->second.data;
    for (std::size_t i = 0; i < values.size(); ++i)
      if (!std::isfinite(values[i]))
        throw Error("tensor '" + r.name + "' holds a non-finite value (" +
                    std::to_string(values[i]) + ") at element " + std::to_string(i));
  }
  auto impl = std::make_unique<Model::Impl>();
  if (keep_tensors) {
    impl->network = detail::compile_network(architecture, tensors);
    impl->tensors = std::move(tensors);
  } else {
    impl->network = detail::compile_network(architecture, std::move(tensors));
  }
  impl->architecture = std::move(architecture);
  impl->alphabet = std::move(alphabet);
  impl->preprocessing = preprocessing;
  return impl;
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

namespace {

// The metadata of a model file: the parts build() takes besides the tensors.
struct ModelHeader {
  Architecture architecture;
  std::vector<std::string> alphabet;
  Preprocessing preprocessing;
};

ModelHeader read_model_header(const detail::SafetensorsView& view) {
  auto meta = [&](const char* key) -> const std::string& {
    auto it = view.metadata.find(key);
    if (it == view.metadata.end())
      throw Error(std::string("__metadata__ has no '") + key + "' (not an ocrcore model?)");
    return it->second;
  };
  const std::string& version = meta(kKeyVersion);
  if (version != std::to_string(kModelFormatVersion))
    throw Error("format version '" + version + "' is not supported (this build reads " +
                    std::to_string(kModelFormatVersion) + ")",
                ErrorKind::unsupported);
  ModelHeader h;
  h.architecture = Architecture::from_json(meta(kKeyArchitecture));
  try {
    json a = json::parse(meta(kKeyAlphabet));
    if (!a.is_array()) throw Error(std::string(kKeyAlphabet) + " is not a JSON array");
    for (auto& s : a) {
      if (!s.is_string()) throw Error(std::string(kKeyAlphabet) + " holds a non-string");
      h.alphabet.push_back(s.get<std::string>());
    }
  } catch (const json::exception& e) {
    throw Error(std::string(kKeyAlphabet) + " is not valid JSON: " + e.what());
  }
  h.preprocessing.height = h.architecture.input_height;
  if (auto it = view.metadata.find(kKeyPreprocessing); it != view.metadata.end())
    h.preprocessing = detail::preprocessing_from_json(it->second, h.architecture.input_height);
  return h;
}

detail::SafetensorsView parse_model_file(const std::uint8_t* bytes, std::size_t size,
                                         const std::string& source) {
  try {
    return detail::parse_safetensors(bytes, size, source);
  } catch (const Error& e) {  // its messages name the file already
    throw Error(e.what(), e.kind() == ErrorKind::bad_input ? ErrorKind::bad_model : e.kind());
  }
}

}  // namespace

// What a model file says besides its parts: user metadata and the precision
// of its stored weights.
void Model::Impl::describe_file(const detail::SafetensorsView& view) {
  for (const auto& [k, v] : view.metadata)
    if (!k.starts_with("ocrcore.")) metadata[k] = v;
  for (const auto& [name, e] : view.entries)
    if (e.dtype == "I8")
      stored_weights = Precision::int8;
    else if (e.dtype == "BF16" && stored_weights == Precision::fp32)
      stored_weights = Precision::bf16;
}

std::shared_ptr<const Model> Model::load(const std::filesystem::path& path) {
  const std::string source = path.string();
  auto open = std::make_unique<detail::OpenFile>(path);
  const detail::MappedFile file(*open);
  const auto view = parse_model_file(file.data(), file.size(), source);
  try {
    ModelHeader h = read_model_header(view);
    TensorMap tensors = read_tensors(view, h.architecture, &file);
    auto impl = build(std::move(h.architecture), std::move(h.alphabet), h.preprocessing,
                      std::move(tensors), /*keep_tensors=*/false);
    impl->source = source;
    impl->file = std::move(open);
    impl->file_header.assign(reinterpret_cast<const char*>(file.data()),
                             reinterpret_cast<const char*>(view.data));
    impl->describe_file(view);
    return std::shared_ptr<const Model>(new Model(std::move(impl)));
  } catch (const Error& e) {
    throw model_error(source, e);
  }
}

std::shared_ptr<const Model> ModelAccess::load_from_bytes(std::span<const std::uint8_t> bytes,
                                                          const std::string& source) {
  const auto view = parse_model_file(bytes.data(), bytes.size(), source);
  try {
    ModelHeader h = read_model_header(view);
    TensorMap tensors = read_tensors(view, h.architecture, nullptr);
    auto impl = Model::build(std::move(h.architecture), std::move(h.alphabet), h.preprocessing,
                             std::move(tensors), /*keep_tensors=*/true);
    impl->source = source;
    impl->describe_file(view);
    return std::shared_ptr<const Model>(new Model(std::move(impl)));
  } catch (const Error& e) {
    throw model_error(source, e);
  }
}

std::shared_ptr<const Model> Model::from_parts(Architecture architecture,
                                               std::vector<std::string> alphabet,
                                               Preprocessing preprocessing, TensorMap tensors,
                                               const std::string& source) {
  try {
    auto impl = build(std::move(architecture), std::move(alphabet), preprocessing,
                      std::move(tensors), /*keep_tensors=*/true);
    impl->source = source;
    return std::shared_ptr<const Model>(new Model(std::move(impl)));
  } catch (const Error& e) {
    throw model_error(source, e);
  }
}

const Architecture& Model::architecture() const {
  return impl_->architecture;
}
const std::vector<std::string>& Model::alphabet() const {
  return impl_->alphabet;
}
const Preprocessing& Model::preprocessing() const {
  return impl_->preprocessing;
}
const TensorMap& Model::tensors() const {
  std::call_once(impl_->tensors_read, [&] {
    if (!impl_->file) return;
    const detail::MappedFile file(*impl_->file);
    const std::string_view now(reinterpret_cast<const char*>(file.data()),
                               std::min(file.size(), impl_->file_header.size()));
    if (now != impl_->file_header)
      throw Error(impl_->source +
                      ": the file was rewritten in place after the model was loaded; load it again",
                  ErrorKind::io);
    try {
      const auto view = detail::parse_safetensors(file.data(), file.size(), impl_->source);
      impl_->tensors = read_tensors(view, impl_->architecture, nullptr);
    } catch (const Error& e) {
      throw model_error(impl_->source, e);
    }
  });
  return impl_->tensors;
}
const std::map<std::string, std::string>& Model::metadata() const {
  return impl_->metadata;
}
const std::string& Model::source() const {
  return impl_->source;
}
int Model::num_classes() const {
  return impl_->network.num_classes;
}
std::int64_t Model::parameter_count() const {
  return impl_->architecture.parameter_count();
}
Precision Model::stored_weights() const {
  return impl_->stored_weights;
}
const detail::CompiledNetwork& ModelAccess::network(const Model& model) {
  return model.impl_->network;
}

std::shared_ptr<const detail::PreparedWeights> ModelAccess::prepared(
    const Model& model, const std::string& key,
    const std::function<std::shared_ptr<const detail::PreparedWeights>()>& make) {
  const Model::Impl& impl = *model.impl_;
  std::lock_guard lock(impl.prepared_mutex);
  auto& slot = impl.prepared[key];
  if (!slot) slot = make();
  return slot;
}

std::size_t ModelAccess::prepared_bytes(const Model& model) {
  const Model::Impl& impl = *model.impl_;
  std::lock_guard lock(impl.prepared_mutex);
  std::size_t bytes = 0;
  for (const auto& [key, p] : impl.prepared)
    bytes += p->bytes();
  return bytes;
}

void save_model(const std::filesystem::path& path, const Architecture& architecture,
                const std::vector<std::string>& alphabet, const Preprocessing& preprocessing,
                const TensorMap& tensors, const std::map<std::string, std::string>& metadata,
                Precision weights) {
  // Validate through the same path as loading, so a saved file always loads.
  const auto model =
      Model::from_parts(architecture, alphabet, preprocessing, tensors, path.string());
  std::map<std::string, std::string> meta = metadata;
  meta[kKeyVersion] = std::to_string(kModelFormatVersion);
  meta[kKeyArchitecture] = architecture.to_json();
  meta[kKeyAlphabet] = json(alphabet).dump();
  meta[kKeyPreprocessing] = detail::preprocessing_to_json(preprocessing);
  TensorMap needed;
  for (const auto& r : architecture.required_tensors())
    needed[r.name] = tensors.at(r.name);
  std::map<std::string, detail::Int8Tensor> int8;
  if (weights == Precision::int8) {
    for (const std::string& name : int8_weight_names(*model)) {
      Tensor& t = needed.at(name);
      detail::Int8Rows q = detail::quantize_rows(t.data, static_cast<std::size_t>(t.shape.at(0)));
      int8[name] = {t.shape, std::move(q.values)};
      Tensor& scale = needed[name + kInt8ScaleSuffix];
      scale.shape = {t.shape[0]};
      scale.data = std::move(q.scale);
      needed.erase(name);
    }
    meta[kKeyWeights] = "int8";
  }
  std::set<std::string> bf16;
  if (weights == Precision::bf16) {
    for (const auto& [name, t] : needed)
      if (t.shape.size() >= 2) bf16.insert(name);  // weight matrices, not biases
    meta[kKeyWeights] = "bf16";
  }
  detail::write_safetensors(path, meta, needed, int8, bf16);
}

}  // namespace ocrcore
