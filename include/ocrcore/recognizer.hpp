#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ocrcore/cpu.hpp"
#include "ocrcore/error.hpp"
#include "ocrcore/export.hpp"
#include "ocrcore/image.hpp"
#include "ocrcore/language_model.hpp"
#include "ocrcore/model.hpp"
#include "ocrcore/types.hpp"

namespace ocrcore {

namespace detail {
class Engine;  // the backend that runs the network (src/runtime/engines/engine.hpp)
}

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
  // Lines turned by 90, 180 or 270 degrees read upright (see Orientation).
  Orientation orientation = Orientation::automatic;
};

// "auto", "direct", "winograd"; throws Error naming the accepted values.
OCRCORE_API ConvAlgorithm parse_conv_algorithm(std::string_view name);
// "auto", "chain", "composed"; throws Error naming the accepted values.
OCRCORE_API TuckerExecution parse_tucker_execution(std::string_view name);
// "fp32", "int8", "bf16"; throws Error naming the accepted values.
OCRCORE_API Precision parse_precision(std::string_view name);
// "auto", "upright"; throws Error naming the accepted values.
OCRCORE_API Orientation parse_orientation(std::string_view name);
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

// One line of Recognizer::recognize_each: its result, or why it has none
// (error->kind() says whether the image was bad, unreadable, ...).
struct LineOutcome {
  std::optional<LineResult> result;
  std::optional<Error> error;  // set exactly when result is not
};

// Receives the outcome of input `index` (recognize_files' function-pointer
// form): `context` is the caller's, passed through.
using OutcomeCallback = void (*)(void* context, std::size_t index, LineOutcome&& outcome);

// Runs a model. Holds its own scratch memory: use one Recognizer per thread
// (they may share one Model). A line's result never depends on the other
// lines of its batch. A Recognizer moved from throws Error on every call.
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
  // Pages of line images (ImageFile: a multi-page TIFF's pages are lines of
  // their own) read from disk a window of batches at a time (memory stays
  // bounded for any number of files), each recognised as by recognize_each;
  // `each(context, index, outcome)` receives them in input order, on the
  // calling thread. A file that cannot be read (load_image's limits and
  // errors) gets its error, naming the file. With several threads the whole
  // of it runs in parallel (reading, normalising, the network and decoding,
  // each thread on its own tasks of 8 batches), results still in input order.
  void recognize_files(std::span<const ImageFile> files, OutcomeCallback each, void* context,
                       int batch_size = 4, std::int64_t max_pixels = kDefaultMaxImagePixels);
  // The same with any callable `each(index, outcome)` (a lambda), over pages
  // or paths (whole files).
  template <class Each>
  void recognize_files(std::span<const ImageFile> files, Each&& each, int batch_size = 4,
                       std::int64_t max_pixels = kDefaultMaxImagePixels) {
    recognize_files(
        files,
        [](void* context, std::size_t index, LineOutcome&& outcome) {
          (*static_cast<std::remove_reference_t<Each>*>(context))(index, std::move(outcome));
        },
        const_cast<void*>(static_cast<const void*>(std::addressof(each))), batch_size, max_pixels);
  }
  template <class Each>
  void recognize_files(std::span<const std::filesystem::path> paths, Each&& each,
                       int batch_size = 4, std::int64_t max_pixels = kDefaultMaxImagePixels) {
    std::vector<ImageFile> files;
    files.reserve(paths.size());
    for (const auto& path : paths)
      files.push_back({path, -1});
    recognize_files(std::span<const ImageFile>(files), std::forward<Each>(each), batch_size,
                    max_pixels);
  }

  // Lower level: lines already normalised (normalize_line) to log-posteriors,
  // and decoding of log-posteriors.
  std::vector<LogProbs> forward(std::span<const LineTensor> lines);
  // `scale_x` and `offset_x` map frames back to source columns (LineTensor's).
  LineResult decode(const LogProbs& log_probs, float scale_x = 1.0f, float offset_x = 0.0f) const;

  const Model& model() const;
  const RecognizerOptions& options() const { return options_; }

 private:
  // Throws Error if this Recognizer was moved from.
  OCRCORE_LOCAL void check_usable() const;
  // recognize_each and the reading of a task of files on a given engine (the
  // Recognizer's own, or one of the file pipeline's single-thread engines).
  OCRCORE_LOCAL std::vector<LineOutcome> recognize_each_on(detail::Engine& engine,
                                                           std::span<const ImageView> images,
                                                           int batch_size) const;
  // recognize_each_on without reading doubted lines turned.
  OCRCORE_LOCAL std::vector<LineOutcome> read_as_given_on(detail::Engine& engine,
                                                          std::span<const ImageView> images,
                                                          int batch_size) const;
  // Orientation::automatic: the doubted lines of `outcomes` read turned, and
  // the turned reading kept where the network is sure of it.
  OCRCORE_LOCAL void read_turned_on(detail::Engine& engine, std::span<const ImageView> images,
                                    std::vector<LineOutcome>& outcomes, int batch_size) const;
  OCRCORE_LOCAL std::vector<LineOutcome> read_files_on(detail::Engine& engine,
                                                       std::span<const ImageFile> files,
                                                       int batch_size,
                                                       std::int64_t max_pixels) const;
  std::shared_ptr<const Model> model_;
  RecognizerOptions options_;
  struct OCRCORE_LOCAL Engine;  // the backend that runs the network
  std::unique_ptr<Engine> engine_;
};

}  // namespace ocrcore
