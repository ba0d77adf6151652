#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ocrcore/export.hpp"

namespace ocrcore {

// A character n-gram language model in the ARPA back-off format (as SRILM,
// KenLM's lmplz and `ocr-lm` write it), whose tokens are single characters:
// one UTF-8 character each, `<space>` for the space, `<s>` and `</s>` for the
// line's start and end, `<unk>` for characters it never saw. Loaded once and
// then read-only: share it between threads.
//
// The same model in binary form (write_binary, `ocr-lm compile`;
// docs/language-model-format.md) loads about 8x faster than ARPA text: its
// n-gram tables are mapped from the file as they are and only checked.
class OCRCORE_API LanguageModel {
 public:
  // ARPA or binary, told apart by the binary form's magic bytes. Throws
  // Error naming the file (and, for ARPA, the line) of anything malformed.
  static std::shared_ptr<const LanguageModel> load(const std::filesystem::path& path);

  // Writes the binary form (atomically). Throws Error naming the file.
  void write_binary(const std::filesystem::path& path) const;

  ~LanguageModel();
  LanguageModel(const LanguageModel&) = delete;
  LanguageModel& operator=(const LanguageModel&) = delete;

  int order() const;
  // The characters it knows, `<space>` written as " " (without <s>, </s>, <unk>).
  const std::vector<std::string>& characters() const;
  std::size_t ngram_count() const;

  // Token ids: 0 <s>, 1 </s>, 2 <unk>, then characters() in order.
  static constexpr int kBegin = 0, kEnd = 1, kUnknown = 2;
  // The id of a character (" " for space), or kUnknown.
  int token(const std::string& character) const;

  // A context of up to order() - 1 tokens, most recent in the low byte.
  using State = std::uint64_t;
  // The context at the start of a line (<s>).
  State begin_state() const;
  // log10 P(token | state) by ARPA back-off; `next` receives the new context.
  float score(State state, int token, State* next) const;

  struct OCRCORE_LOCAL Impl;  // the n-gram tables (opaque)

 private:
  OCRCORE_LOCAL explicit LanguageModel(std::unique_ptr<const Impl> impl);
  std::unique_ptr<const Impl> impl_;
};

// How the beam decoder uses a language model (shallow fusion): a prefix y
// ranks by log P_ctc(y | frames) + weight * ln P_lm(y) + bonus * |y|, the
// language model also scoring the end of the line. Labels whose log-posterior
// in a frame is below `prune_log_prob` are not tried there (-inf: all are).
// The defaults are what `ocr-lm tune` chose for models trained on scan-like
// lines (models/README.md); a model file may record its own
// (tuned_language_model_options).
struct LanguageModelOptions {
  float weight = 0.2f;
  float bonus = 1.0f;
  float prune_log_prob = -7.0f;
};

}  // namespace ocrcore
