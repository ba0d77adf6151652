#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "ocrcore/architecture.hpp"
#include "ocrcore/image.hpp"
#include "ocrcore/model.hpp"
#include "ocrcore/tensor.hpp"

namespace ocrcore::onnx_io {

// A model read from ONNX, ready for save_model / Model::from_parts.
struct ImportedModel {
  Architecture architecture;
  TensorMap tensors;
  std::vector<std::string> alphabet;  // from the file's ocrcore metadata, if any
  Preprocessing preprocessing;
};

// Maps a CNN-BLSTM-CTC line recogniser as torch.onnx.export writes it
// (Conv, BatchNormalization, Relu, MaxPool, Dropout, Transpose/Reshape/
// Squeeze around bidirectional or forward LSTMs, MatMul/Gemm/Add, LogSoftmax
// or Softmax; shape arithmetic and constants folded) to an ocrcore
// architecture and weights. Throws Error naming the node and why for graphs
// it cannot map, and naming the file for unreadable ones.
ImportedModel import_onnx(const std::filesystem::path& path);
ImportedModel import_onnx_bytes(std::string_view bytes, const std::string& source);

// Writes `model` as ONNX (opset >= 13) with dynamic batch and width axes:
// input "image" [N, 1, H, W], output "log_probs" [T, N, classes]. Batch norm
// stays a BatchNormalization node and a Tucker layer three Conv nodes, and the
// alphabet and preprocessing travel in metadata, so importing the file gives
// the model back. Lines of one batch must share their width (ONNX has no
// per-line lengths for convolutions). Written atomically.
void export_onnx(const Model& model, const std::filesystem::path& path, int opset = 13);

}  // namespace ocrcore::onnx_io
