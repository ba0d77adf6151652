#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ocrcore/export.hpp"

namespace ocrcore {

// A dense fp32 tensor in row-major (C) order, as stored in a model file.
struct OCRCORE_API Tensor {
  std::vector<std::int64_t> shape;
  std::vector<float> data;

  Tensor() = default;
  Tensor(std::vector<std::int64_t> dims, float fill = 0.0f);
  std::int64_t numel() const;
};

// Tensors by name, in the names of docs/model-format.md (PyTorch state_dict names).
using TensorMap = std::map<std::string, Tensor>;

}  // namespace ocrcore
