#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ocrcore/tensor.hpp"

namespace ocrcore::detail {

// One tensor of a safetensors file: where its bytes are, relative to the
// start of the data section.
struct SafetensorsEntry {
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::size_t begin = 0;
  std::size_t end = 0;
};

// A parsed and structurally validated safetensors file (the bytes stay owned by
// the caller, e.g. a MappedFile).
struct SafetensorsView {
  std::map<std::string, std::string> metadata;
  std::map<std::string, SafetensorsEntry> entries;
  const std::uint8_t* data = nullptr;  // start of the data section
  std::size_t data_size = 0;
};

// Checks: file long enough for the 8-byte length, header length sane and
// inside the file, header valid UTF-8 JSON object, every entry with a known
// dtype, non-negative shape, offsets inside the data section matching the
// shape's byte size, no two entries overlapping. Throws Error naming `source`.
SafetensorsView parse_safetensors(const std::uint8_t* bytes, std::size_t size,
                                  const std::string& source);

// Copies an F32 entry into a Tensor, or widens a BF16 one (exactly: every
// bfloat16 is a float); throws Error naming the tensor for another dtype.
Tensor read_f32_tensor(const SafetensorsView& file, const std::string& name);

// The values of an I8 entry; throws Error naming the tensor for another dtype.
std::vector<std::int8_t> read_i8_values(const SafetensorsView& file, const std::string& name);

// An I8 tensor to write.
struct Int8Tensor {
  std::vector<std::int64_t> shape;
  std::vector<std::int8_t> values;
};

// Serialises `tensors` (F32, or BF16 rounded to nearest even for the names
// in `bf16`), I8 `int8_tensors` and string metadata to a safetensors file,
// atomically.
void write_safetensors(const std::filesystem::path& path,
                       const std::map<std::string, std::string>& metadata, const TensorMap& tensors,
                       const std::map<std::string, Int8Tensor>& int8_tensors = {},
                       const std::set<std::string>& bf16 = {});

}  // namespace ocrcore::detail
