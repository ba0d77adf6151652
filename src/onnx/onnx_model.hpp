#pragma once

#include <filesystem>
#include <span>
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

// Writes `model` as int8 ONNX in QDQ form, for ONNX Runtime to run the
// weights ocrcore runs in int8: the convolutions ocrcore runs in int8 get
// int8 weights per output channel (DequantizeLinear, axis 0), an int32 bias
// and uint8 activations between QuantizeLinear/DequantizeLinear pairs, whose
// static scales come from the largest values seen on `calibration` (lines
// normalised for the model; `threads` run them); the LSTMs become ONNX
// Runtime's DynamicQuantizeLSTM (com.microsoft) with int8 weights per gate
// row. Batch norm is folded into the convolutions. Other ops stay fp32. Same
// input and output as export_onnx. Written atomically.
void export_onnx_int8(const Model& model, const std::filesystem::path& path,
                      std::span<const LineTensor> calibration, int threads = 1, int opset = 13);

}  // namespace ocrcore::onnx_io
