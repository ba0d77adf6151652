// ONNX graphs (protobuf from anywhere): the importer maps them to an
// ocrcore architecture and tensors or refuses them with ocrcore::Error; what
// it accepts must build a valid model that reads a line. Every refusal names
// the graph.
#include "fuzz_util.hpp"
#include "onnx/onnx_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocrcore;
  onnx_io::ImportedModel imported;
  try {
    imported = onnx_io::import_onnx_bytes(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.onnx");
  } catch (const Error& e) {
    fuzz::check_error_names(e, "fuzz.onnx");
    return 0;
  }
  std::shared_ptr<const Model> model;
  try {
    std::vector<std::string> alphabet = imported.alphabet;
    if (alphabet.empty()) {
      // A file without ocrcore metadata: one made-up character per class.
      const int classes = imported.architecture.validate();
      alphabet.push_back("");
      for (int k = 1; k < classes; ++k)
        alphabet.push_back("c" + std::to_string(k));
    }
    model = Model::from_parts(imported.architecture, alphabet, imported.preprocessing,
                              imported.tensors, "fuzz.onnx");
  } catch (const Error& e) {
    // For example an alphabet that does not match the output layer.
    fuzz::check_error_names(e, "fuzz.onnx");
    return 0;
  }
  fuzz::check_model_reads_a_line(model);
  return 0;
}
