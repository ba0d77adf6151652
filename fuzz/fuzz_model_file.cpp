// Model files (docs/model-format.md): safetensors header, the architecture,
// alphabet and preprocessing JSON in its metadata, the tensors. Every input
// either loads, and then reads a line, or is refused with ocrcore::Error.
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocrcore;
  const auto path = fuzz::write_scratch(data, size, ".ocrm");
  std::shared_ptr<const Model> model;
  try {
    model = Model::load(path);
  } catch (const Error& e) {
    fuzz::check_error_names(e, path.string());
    return 0;
  }
  fuzz::check(model->num_classes() == static_cast<int>(model->alphabet().size()),
              "classes and alphabet differ");
  fuzz::check_model_reads_a_line(model);
  return 0;
}
