// ocr-convert: moves models between ocrcore's format and ONNX, and imports a
// PyTorch state_dict saved as safetensors together with an architecture JSON.
//
//   ocr-convert teacher.onnx teacher.ocrm --alphabet ascii
//   ocr-convert model.ocrm model.onnx
//   ocr-convert state_dict.safetensors model.ocrm --arch arch.json --alphabet ascii
//   ocr-convert model.ocrm model-int8.ocrm --quantize int8
//   ocr-convert model.ocrm model-bf16.ocrm --quantize bf16
//   ocr-convert model.ocrm model-int8.onnx --quantize int8 --calibrate lines/

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "ocrcore/ocrcore.hpp"
#include "onnx/model_import.hpp"
#include "onnx/onnx_model.hpp"
#include "tool_main.hpp"
#include "tool_support/line_sources.hpp"
#include "training/data/codec.hpp"

using ocrcore::Error;

namespace {

int tool_main(int argc, char** argv) {
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
  std::string to;
  app.add_option("--to", to,
                 "Output format, ocrm or onnx (default: from the output's extension; needed for "
                 "'-', a FIFO or a device)")
      ->check(CLI::IsMember({"ocrm", "onnx"}));
  app.add_option("--opset", opset, "ONNX opset for .onnx output")->capture_default_str();
  std::string quantize = "fp32";
  app.add_option("--quantize", quantize,
                 "fp32, int8 or bf16. int8: for .ocrm the weights ocrcore runs in int8 stored "
                 "as I8 with a scale per row (about a quarter of the size, the same results with "
                 "int8 precisions); for .onnx a QDQ graph that ONNX Runtime runs in int8 (needs "
                 "--calibrate). bf16 (.ocrm only): every weight matrix stored as BF16 (half the "
                 "size); ocr-infer then runs its convolutions in bf16 where the CPU has AVX-512 "
                 "BF16")
      ->check(CLI::IsMember({"fp32", "int8", "bf16"}))
      ->capture_default_str();
  std::vector<std::string> calibrate;
  app.add_option("--calibrate", calibrate,
                 "int8 ONNX: line images (files, directories, @lists) whose activation ranges "
                 "set the static scales; not the lines you evaluate on");
  int calibration_lines = 100;
  app.add_option("--calibration-lines", calibration_lines, "Use at most this many of them")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  int threads = 2;
  app.add_option("-t,--threads", threads, "Threads for the calibration")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    const auto model = ocrcore::onnx_io::import_model(
        input, arch_path,
        alphabet.empty() ? std::vector<std::string>{} : ocrcore::data::load_alphabet(alphabet));
    const std::string ext =
        to.empty() ? std::filesystem::path(output).extension().string() : "." + to;
    const ocrcore::Precision weights = ocrcore::parse_precision(quantize);
    if (!calibrate.empty() && (ext != ".onnx" || weights != ocrcore::Precision::int8))
      throw Error("--calibrate applies to int8 ONNX output (--quantize int8, .onnx)");
    if (ext == ".onnx" && weights == ocrcore::Precision::bf16)
      throw Error(output + ": bf16 applies to .ocrm output (ONNX export is fp32 or int8)");
    if (ext == ".onnx" && weights == ocrcore::Precision::int8) {
      if (calibrate.empty())
        throw Error(output + ": int8 ONNX needs --calibrate with line images (static scales)");
      auto images = ocrcore::expand_inputs(calibrate, std::cin);
      if (images.size() > static_cast<std::size_t>(calibration_lines))
        images.resize(static_cast<std::size_t>(calibration_lines));
      std::vector<ocrcore::LineTensor> lines;
      for (const auto& image : images) {
        try {
          lines.push_back(
              ocrcore::normalize_line(ocrcore::load_image(image), model->preprocessing()));
        } catch (const Error& e) {  // one bad image does not stop the calibration
          std::fprintf(stderr, "ocr-convert: skipped: %s\n", e.what());
        }
      }
      ocrcore::onnx_io::export_onnx_int8(*model, output, lines, threads, opset);
      std::fprintf(stderr, "ocr-convert: int8 scales calibrated on %zu lines\n", lines.size());
    } else if (ext == ".onnx") {
      ocrcore::onnx_io::export_onnx(*model, output, opset);
    } else if (ext == ".ocrm") {
      ocrcore::save_model(output, model->architecture(), model->alphabet(), model->preprocessing(),
                          model->tensors(), model->metadata(), weights);
    } else {
      throw Error(output + ": unknown output format (.ocrm, .onnx; or give --to)");
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

}  // namespace

int main(int argc, char** argv) {
  return ocrcore::tools::run_tool("ocr-convert", argc, argv, tool_main);
}
