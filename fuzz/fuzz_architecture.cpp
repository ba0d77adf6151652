// Architecture JSON (docs/model-format.md): parsed, validated and written
// back; what parses must survive the round trip unchanged and report
// consistent shapes.
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocrcore;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  Architecture a;
  try {
    a = Architecture::from_json(json);
  } catch (const Error&) {
    return 0;
  }
  const std::string written = a.to_json();
  Architecture b;
  try {
    b = Architecture::from_json(written);
  } catch (const Error& e) {
    fuzz::fail(std::string("its own JSON does not parse: ") + e.what() + "\n" + written);
  }
  fuzz::check(b.to_json() == written, "the JSON round trip changes it:\n" + written);
  try {
    a.validate();
  } catch (const Error&) {
    return 0;
  }
  for (const auto& r : a.required_tensors())
    for (std::int64_t d : r.shape)
      fuzz::check(d > 0, "tensor " + r.name + " has a dimension " + std::to_string(d));
  fuzz::check(a.width_stride() >= 1, "width stride below 1");
  for (int w : {1, 7, 64, 1000})
    fuzz::check(a.frames_for_width(w) >= 0, "negative frame count");
  fuzz::check(a.parameter_count() >= 0, "negative parameter count");
  fuzz::check(std::isfinite(a.flops(512)) && a.flops(512) >= 0, "FLOPs not finite");
  return 0;
}
