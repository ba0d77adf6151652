#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ocrcore/cpu.hpp"
#include "ocrcore/export.hpp"
#include "ocrcore/image.hpp"
#include "ocrcore/language_model.hpp"
#include "ocrcore/model.hpp"

namespace ocrcore {

enum class Decoder { greedy, beam };
// reference: plain loops, one line at a time, the oracle for every fast path.
// onednn: batched, oneDNN primitives and our own kernels.
enum class Backend { reference, onednn };

// How the onednn backend runs 3x3 convolutions. Winograd (oneDNN's F(2x2,3x3)
// and F(4x4,3x3) kernels) does 2.25-4x fewer multiplications than direct
// convolution, at the cost of transforms, rounding errors around 1e-6
// relative, and weights stored about four times larger. automatic chooses per
// layer from its shape (measured rules, src/backend/onednn/tuning.hpp).
enum class ConvAlgorithm { automatic, direct, winograd };
// How the onednn backend runs Tucker-2 layers: as their chain of three
// convolutions, or composed back into the one convolution they approximate
// (more multiply-adds, sometimes faster). automatic chooses per layer.
enum class TuckerExecution { automatic, chain, composed };
// Arithmetic of a part of the network (onednn backend).
//   LSTMs, int8: the input and recurrent matrices quantised per gate row when
//   the model is prepared, each frame's input and the hidden state per step,
//   integer dot products (AVX-512 VNNI, or the generic path); the cell stays
//   fp32. About 2x faster DBLSTM.
//   Convolutions, int8: weights quantised per output channel when the model is
//   prepared; each convolution's input (a ReLU's output, so >= 0) quantised to
//   uint8 with a scale from its largest value in the batch; oneDNN's int8
//   convolutions (AVX-512 VNNI only). The image layer and convolutions whose
//   input can be negative (inside Tucker chains) stay fp32.
//   Convolutions, bf16: weights and each convolution's input rounded to
//   bfloat16 (8 bits of mantissa), products summed in fp32 by oneDNN's bf16
//   kernels (AVX-512 BF16 only); every convolution but the image layer. About
//   2x faster than fp32, half as fast as int8, and closer to fp32 than int8.
//   There is no bf16 LSTM: lstm_precision bf16 is refused.
// What each costs in accuracy is measured in README.md (Benchmarks).
// (enum class Precision: ocrcore/model.hpp.)

struct RecognizerOptions {
  Decoder decoder = Decoder::greedy;
  int beam_width = 10;
  Backend backend = Backend::onednn;
  int threads = 1;
  // Path of ocrcore's own kernels (onednn backend); automatic honours OCRCORE_ISA.
  Isa isa = Isa::automatic;
  // A character language model for the beam decoder (needs Decoder::beam).
  // language_model_options.prune_log_prob prunes the beam decoder's
  // extensions with or without a model.
  std::shared_ptr<const LanguageModel> language_model;
  LanguageModelOptions language_model_options;
  ConvAlgorithm conv_algorithm = ConvAlgorithm::automatic;
  TuckerExecution tucker = TuckerExecution::automatic;
  Precision lstm_precision = Precision::fp32;
  Precision conv_precision = Precision::fp32;
};

// "auto", "direct", "winograd"; throws Error naming the accepted values.
OCRCORE_API ConvAlgorithm parse_conv_algorithm(std::string_view name);
// "auto", "chain", "composed"; throws Error naming the accepted values.
OCRCORE_API TuckerExecution parse_tucker_execution(std::string_view name);
// "fp32", "int8", "bf16"; throws Error naming the accepted values.
OCRCORE_API Precision parse_precision(std::string_view name);
// Whether this CPU runs bf16 convolutions (AVX-512 BF16).
OCRCORE_API bool bf16_conv_supported();
// Whether this CPU runs the int8 LSTM step on the instruction set `isa`
// resolves to (AVX-512 VNNI, or the generic path).
OCRCORE_API bool int8_lstm_supported(Isa isa = Isa::automatic);
// Whether this CPU runs int8 convolutions (AVX-512 VNNI: without it oneDNN's
// int8 kernels can saturate intermediate sums).
OCRCORE_API bool int8_conv_supported();
// The faster precision for these settings: int8 where it runs on VNNI (the
// onednn backend, an instruction set resolving to AVX-512, a CPU with VNNI),
// else fp32. What ocr-infer uses unless told otherwise; int8 costs at most a
// few hundredths of a CER point (README.md, Benchmarks).
OCRCORE_API Precision fastest_precision(Backend backend = Backend::onednn,
                                        Isa isa = Isa::automatic);
// The precisions to run `model` in unless told otherwise (what ocr-infer's
// "auto" means): a model stored in bf16 (save_model, ocr-convert --quantize
// bf16) asks for accuracy close to fp32, so its convolutions run in bf16
// where the CPU has AVX-512 BF16 (else fp32) and its LSTMs in fp32; any
// other model runs at fastest_precision.
OCRCORE_API Precision default_conv_precision(const Model& model, Backend backend = Backend::onednn,
                                             Isa isa = Isa::automatic);
OCRCORE_API Precision default_lstm_precision(const Model& model, Backend backend = Backend::onednn,
                                             Isa isa = Isa::automatic);

// Model metadata keys under which `ocr-lm tune` records the language-model
// weight and bonus it found best for that model on validation lines.
inline constexpr const char* kMetadataLmWeight = "lm_weight";
inline constexpr const char* kMetadataLmBonus = "lm_bonus";

// The language-model options tuned for `model` (its kMetadataLmWeight and
// kMetadataLmBonus), the defaults for what it does not record. Throws Error
// naming the model if a recorded value is not a finite number.
OCRCORE_API LanguageModelOptions tuned_language_model_options(const Model& model);

struct CharResult {
  std::string text;         // one alphabet entry (UTF-8)
  float confidence = 0.0f;  // peak posterior of this character over its frames
  int frame_begin = 0;      // frames [frame_begin, frame_end) emit it
  int frame_end = 0;
  int x_begin = 0;  // columns [x_begin, x_end) of the source image
  int x_end = 0;
};

struct LineResult {
  std::string text;
  float confidence = 0.0f;  // P(text | image) under the CTC model
  std::vector<CharResult> chars;
};

// One line of Recognizer::recognize_each: its result, or why it has none.
struct LineOutcome {
  std::optional<LineResult> result;
  std::string error;  // empty when recognised
};

// Per-frame log-posteriors of one line: frames x classes, row-major.
struct LogProbs {
  int frames = 0;
  int classes = 0;
  std::vector<float> values;
  const float* frame(int t) const { return values.data() + static_cast<std::size_t>(t) * classes; }
};

// Runs a model. Holds its own scratch memory: use one Recognizer per thread
// (they may share one Model). A line's result never depends on the other
// lines of its batch.
class OCRCORE_API Recognizer {
 public:
  explicit Recognizer(std::shared_ptr<const Model> model, RecognizerOptions options = {});
  ~Recognizer();
  Recognizer(Recognizer&&) noexcept;
  Recognizer& operator=(Recognizer&&) noexcept;

  LineResult recognize(const ImageView& image);
  // One batch: throws Error (naming the image's index) if any line fails.
  std::vector<LineResult> recognize(std::span<const ImageView> images);
  // Many lines, each on its own: normalised, sorted by width and run in
  // batches of `batch_size` lines of similar width (less padding), results in
  // input order. A line that cannot be read (an unusable image, recognition
  // failing on it) gets its error, and every other line is still recognised.
  std::vector<LineOutcome> recognize_each(std::span<const ImageView> images, int batch_size = 4);
  // Line images read from disk a window of batches at a time (memory stays
  // bounded for any number of files), each recognised as by recognize_each;
  // `each(index, outcome)` receives them in input order. A file that cannot
  // be read (load_image's limits and errors) gets its error, naming the file.
  void recognize_files(std::span<const std::filesystem::path> paths,
                       const std::function<void(std::size_t, LineOutcome&&)>& each,
                       int batch_size = 4, std::int64_t max_pixels = kDefaultMaxImagePixels);
  // The same over pages of files (ImageFile): a multi-page TIFF's pages are
  // line images of their own.
  void recognize_files(std::span<const ImageFile> files,
                       const std::function<void(std::size_t, LineOutcome&&)>& each,
                       int batch_size = 4, std::int64_t max_pixels = kDefaultMaxImagePixels);

  // Lower level: lines already normalised (normalize_line) to log-posteriors,
  // and decoding of log-posteriors.
  std::vector<LogProbs> forward(std::span<const LineTensor> lines);
  // `scale_x` and `offset_x` map frames back to source columns (LineTensor's).
  LineResult decode(const LogProbs& log_probs, float scale_x = 1.0f, float offset_x = 0.0f) const;

  const Model& model() const { return *model_; }
  const RecognizerOptions& options() const { return options_; }

 private:
  std::shared_ptr<const Model> model_;
  RecognizerOptions options_;
  struct Engine;  // the backend that runs the network
  std::unique_ptr<Engine> engine_;
};

}  // namespace ocrcore
