#include "onnx/model_import.hpp"

#include "ocrcore/error.hpp"
#include "onnx/onnx_model.hpp"
#include "runtime/core/file_io.hpp"
#include "runtime/core/safetensors.hpp"

namespace ocrcore::onnx_io {

namespace {

std::string dims(const std::vector<std::int64_t>& shape) {
  std::string s;
  for (auto d : shape)
    s += (s.empty() ? "" : ", ") + std::to_string(d);
  return "[" + s + "]";
}

std::shared_ptr<const Model> import_state_dict(const std::filesystem::path& path,
                                               const std::filesystem::path& architecture,
                                               const std::vector<std::string>& alphabet) {
  if (architecture.empty())
    throw Error(path.string() + ": a state_dict needs an architecture JSON (--arch)");
  if (alphabet.empty())
    throw Error(path.string() + ": a state_dict needs an alphabet (--alphabet)");
  const Architecture arch = Architecture::load(architecture);
  detail::MappedFile file(path);
  const auto view = detail::parse_safetensors(file.data(), file.size(), path.string());
  TensorMap tensors;
  std::string problems;
  for (const auto& req : arch.required_tensors()) {
    auto it = view.entries.find(req.name);
    if (it == view.entries.end())
      problems += "\n  missing tensor " + req.name;
    else if (it->second.shape != req.shape)
      problems += "\n  tensor " + req.name + " has shape " + dims(it->second.shape) +
                  ", the architecture needs " + dims(req.shape);
    else
      tensors.emplace(req.name, detail::read_f32_tensor(view, req.name));
  }
  if (!problems.empty())
    throw Error(path.string() + ": does not fit " + architecture.string() + ":" + problems);
  Preprocessing pre;
  pre.height = arch.input_height;
  return Model::from_parts(arch, alphabet, pre, tensors, path.string());
}

}  // namespace

std::shared_ptr<const Model> import_model(const std::filesystem::path& path,
                                          const std::filesystem::path& architecture,
                                          const std::vector<std::string>& alphabet) {
  std::string ext = path.extension().string();
  for (char& c : ext)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".onnx") {
    ImportedModel m = import_onnx(path);
    if (!alphabet.empty()) m.alphabet = alphabet;
    if (m.alphabet.empty())
      throw Error(path.string() + ": the ONNX file carries no alphabet; give one with --alphabet");
    return Model::from_parts(m.architecture, m.alphabet, m.preprocessing, m.tensors, path.string());
  }
  if (ext == ".safetensors") return import_state_dict(path, architecture, alphabet);
  if (ext == ".ocrm") return Model::load(path);
  throw Error(path.string() + ": unknown model format (.ocrm, .onnx, .safetensors)");
}

}  // namespace ocrcore::onnx_io
