// ocr-convert: moves models between ocrcore's format and ONNX, and imports a
// PyTorch state_dict saved as safetensors together with an architecture JSON.
//
//   ocr-convert teacher.onnx teacher.ocrm --alphabet ascii
//   ocr-convert model.ocrm model.onnx
//   ocr-convert state_dict.safetensors model.ocrm --arch arch.json --alphabet ascii
//   ocr-convert model.ocrm model-int8.ocrm --quantize int8

#include <CLI/CLI.hpp>
#include <cstdio>

#include "data/codec.hpp"
#include "ocrcore/ocrcore.hpp"
#include "onnx/model_import.hpp"
#include "onnx/onnx_model.hpp"

using ocrcore::Error;

int main(int argc, char** argv) {
  CLI::App app{"Convert models: ONNX <-> ocrcore, PyTorch state_dict (safetensors) -> ocrcore."};
  std::string input, output, alphabet, arch_path;
  int opset = 13;
  app.add_option("input", input, "Model to read (.onnx, .ocrm, .safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("output", output, "Model to write (.ocrm or .onnx)")->required();
  app.add_option(
      "--alphabet", alphabet,
      "'ascii' or a file with one character per line; needed when the input has no alphabet");
  app.add_option("--arch", arch_path, "Architecture JSON for a .safetensors state_dict")
      ->check(CLI::ExistingFile);
  app.add_option("--opset", opset, "ONNX opset for .onnx output")->capture_default_str();
  std::string quantize = "fp32";
  app.add_option("--quantize", quantize,
                 "Weights of an .ocrm output: fp32, or int8 (the weights ocrcore runs in int8 "
                 "stored as I8 with a scale per row: about a quarter of the size, the same "
                 "results with int8 precisions)")
      ->check(CLI::IsMember({"fp32", "int8"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    const auto model = ocrcore::onnx_io::import_model(
        input, arch_path,
        alphabet.empty() ? std::vector<std::string>{} : ocrcore::data::load_alphabet(alphabet));
    const std::string ext = std::filesystem::path(output).extension().string();
    const ocrcore::Precision weights = ocrcore::parse_precision(quantize);
    if (ext == ".onnx") {
      if (weights != ocrcore::Precision::fp32)
        throw Error(output + ": --quantize applies to .ocrm output (ONNX export is fp32)");
      ocrcore::onnx_io::export_onnx(*model, output, opset);
    } else if (ext == ".ocrm") {
      ocrcore::save_model(output, model->architecture(), model->alphabet(), model->preprocessing(),
                          model->tensors(), model->metadata(), weights);
    } else {
      throw Error(output + ": unknown output format (.ocrm, .onnx)");
    }
    std::fprintf(stderr, "ocr-convert: %s -> %s (%lld parameters, %d classes)\n", input.c_str(),
                 output.c_str(), static_cast<long long>(model->parameter_count()),
                 model->num_classes());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ocr-convert: error: %s\n", e.what());
    return 1;
  }
}
