// ocr-convert: moves models between ocrcore's format and ONNX, and imports a
// PyTorch state_dict saved as safetensors together with an architecture JSON.
//
//   ocr-convert teacher.onnx teacher.ocrm --alphabet ascii
//   ocr-convert model.ocrm model.onnx
//   ocr-convert state_dict.safetensors model.ocrm --arch arch.json --alphabet ascii

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/file_io.hpp"
#include "core/safetensors.hpp"
#include "data/codec.hpp"
#include "ocrcore/ocrcore.hpp"
#include "onnx/onnx_model.hpp"

namespace fs = std::filesystem;
using ocrcore::Error;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(p.string() + ": cannot read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> load_alphabet(const std::string& spec) {
  if (spec == "ascii") return ocrcore::data::printable_ascii_alphabet();
  std::istringstream in(read_file(spec));
  std::vector<std::string> a = {""};
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) a.push_back(line == "<space>" ? " " : line);
  }
  return a;
}

std::string extension(const fs::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Convert models: ONNX <-> ocrcore, PyTorch state_dict (safetensors) -> ocrcore."};
  std::string input, output, alphabet, arch_path;
  int opset = 13, height = 0;
  app.add_option("input", input, "Model to read (.onnx, .ocrm, .safetensors)")->required()->check(CLI::ExistingFile);
  app.add_option("output", output, "Model to write (.ocrm or .onnx)")->required();
  app.add_option("--alphabet", alphabet,
                 "'ascii' or a file with one character per line; needed when the input has no alphabet");
  app.add_option("--arch", arch_path, "Architecture JSON for a .safetensors state_dict")->check(CLI::ExistingFile);
  app.add_option("--height", height, "Input height for a .safetensors state_dict (default: the architecture's)");
  app.add_option("--opset", opset, "ONNX opset for .onnx output")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    std::shared_ptr<const ocrcore::Model> model;
    const std::string in_ext = extension(input), out_ext = extension(output);
    if (in_ext == ".onnx") {
      auto m = ocrcore::onnx_io::import_onnx(input);
      if (!alphabet.empty()) m.alphabet = load_alphabet(alphabet);
      if (m.alphabet.empty())
        throw Error(input + ": the ONNX file carries no alphabet; give one with --alphabet");
      model = ocrcore::Model::from_parts(m.architecture, m.alphabet, m.preprocessing, m.tensors, input);
    } else if (in_ext == ".safetensors") {
      if (arch_path.empty()) throw Error("a .safetensors state_dict needs --arch");
      if (alphabet.empty()) throw Error("a .safetensors state_dict needs --alphabet");
      auto arch = ocrcore::Architecture::from_json(read_file(arch_path));
      ocrcore::detail::MappedFile file(input);
      auto view = ocrcore::detail::parse_safetensors(file.data(), file.size(), input);
      ocrcore::TensorMap tensors;
      std::string problems;
      for (const auto& req : arch.required_tensors()) {
        auto it = view.entries.find(req.name);
        if (it == view.entries.end()) {
          problems += "\n  missing tensor " + req.name;
        } else if (it->second.shape != req.shape) {
          std::string have, want;
          for (auto d : it->second.shape) have += (have.empty() ? "" : ", ") + std::to_string(d);
          for (auto d : req.shape) want += (want.empty() ? "" : ", ") + std::to_string(d);
          problems += "\n  tensor " + req.name + " has shape [" + have + "], the architecture needs [" + want + "]";
        } else {
          tensors.emplace(req.name, ocrcore::detail::read_f32_tensor(view, req.name));
        }
      }
      if (!problems.empty()) throw Error(input + ": does not fit " + arch_path + ":" + problems);
      ocrcore::Preprocessing pre;
      pre.height = height > 0 ? height : arch.input_height;
      model = ocrcore::Model::from_parts(arch, load_alphabet(alphabet), pre, tensors, input);
    } else if (in_ext == ".ocrm") {
      model = ocrcore::Model::load(input);
    } else {
      throw Error(input + ": unknown input format (.onnx, .ocrm, .safetensors)");
    }
    if (out_ext == ".onnx") {
      ocrcore::onnx_io::export_onnx(*model, output, opset);
    } else if (out_ext == ".ocrm") {
      ocrcore::save_model(output, model->architecture(), model->alphabet(), model->preprocessing(),
                          model->tensors(), model->metadata());
    } else {
      throw Error(output + ": unknown output format (.ocrm, .onnx)");
    }
    std::fprintf(stderr, "ocr-convert: %s -> %s (%lld parameters, %d classes)\n", input.c_str(), output.c_str(),
                 static_cast<long long>(model->parameter_count()), model->num_classes());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ocr-convert: error: %s\n", e.what());
    return 1;
  }
}
