#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ocrcore/architecture.hpp"
#include "ocrcore/export.hpp"
#include "ocrcore/image.hpp"
#include "ocrcore/tensor.hpp"
#include "ocrcore/types.hpp"

namespace ocrcore {

inline constexpr int kModelFormatVersion = 1;

// A recognition model loaded once and then read-only: share one Model between
// any number of threads and Recognizers.
class OCRCORE_API Model {
 public:
  // Memory-maps and fully validates a model file (docs/model-format.md).
  // Throws Error naming the file and what is wrong with it. The model keeps
  // the file open (not its path: replacing the file later changes nothing)
  // and holds its weights once, in the form the engines compute with.
  static std::shared_ptr<const Model> load(const std::filesystem::path& path);
  // Builds a model from parts already in memory (converters, tests); validated
  // the same way. `source` names it in error messages.
  static std::shared_ptr<const Model> from_parts(Architecture architecture,
                                                 std::vector<std::string> alphabet,
                                                 Preprocessing preprocessing, TensorMap tensors,
                                                 const std::string& source = "<memory>");

  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const Architecture& architecture() const;
  // Index 0 is the CTC blank (its string is ignored).
  const std::vector<std::string>& alphabet() const;
  const Preprocessing& preprocessing() const;
  // Tensors as stored in the file (batch norm not folded). A loaded model
  // reads them from its file on the first call (converters and trainers need
  // them, recognition does not); throws Error if the file was rewritten in
  // place since (replacing it by renaming, as ocrcore's writers do, is fine).
  const TensorMap& tensors() const;
  // Free-form metadata of the file beyond the ocrcore.* keys.
  const std::map<std::string, std::string>& metadata() const;
  const std::string& source() const;

  int num_classes() const;
  std::int64_t parameter_count() const;
  // How the file stores its weights: int8 if it holds I8 tensors, bf16 if
  // BF16 ones, else fp32 (and fp32 for a model made in memory).
  Precision stored_weights() const;

 private:
  // The library's own access to the compiled network (src/runtime/model/model_access.hpp).
  friend struct ModelAccess;
  struct OCRCORE_LOCAL Impl;
  OCRCORE_LOCAL explicit Model(std::unique_ptr<Impl> impl);
  // Validates the parts and compiles the network (errors name no file);
  // without `keep_tensors` the network takes the tensors' values over.
  OCRCORE_LOCAL static std::unique_ptr<Impl> build(Architecture architecture,
                                                   std::vector<std::string> alphabet,
                                                   Preprocessing preprocessing, TensorMap tensors,
                                                   bool keep_tensors);
  std::unique_ptr<Impl> impl_;
};

// Writes a model file atomically (temporary file, flush, rename). Validates
// first, so a file written here always loads. With `weights` int8, the
// weights the engines run in int8 (convolutions after the first, outside
// Tucker chains, and the LSTM matrices) are stored as I8 with per-row scales
// (docs/model-format.md): about a quarter of the size, and a Recognizer with
// int8 precisions computes exactly what it computes from the fp32 file; other
// tensors stay F32. Loading gives the dequantised weights. With `weights`
// bf16, every weight matrix (convolution kernels, LSTM and linear weights;
// not biases) is stored as BF16, rounded to nearest even: half the size;
// loading widens them to float exactly.
OCRCORE_API void save_model(const std::filesystem::path& path, const Architecture& architecture,
                            const std::vector<std::string>& alphabet,
                            const Preprocessing& preprocessing, const TensorMap& tensors,
                            const std::map<std::string, std::string>& metadata = {},
                            Precision weights = Precision::fp32);

}  // namespace ocrcore
