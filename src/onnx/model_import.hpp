#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ocrcore/model.hpp"

namespace ocrcore::onnx_io {

// A model from any form a user brings: an ocrcore model file (.ocrm), an ONNX
// file (.onnx; `alphabet` needed when the file carries none), or a PyTorch
// state_dict saved as safetensors (.safetensors) with the architecture JSON
// file `architecture` and an `alphabet`. Throws Error naming the file and,
// for a state_dict, every missing or mis-shaped tensor.
std::shared_ptr<const Model> import_model(const std::filesystem::path& path,
                                          const std::filesystem::path& architecture = {},
                                          const std::vector<std::string>& alphabet = {});

}  // namespace ocrcore::onnx_io
