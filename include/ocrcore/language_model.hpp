#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ocrcore/export.hpp"

namespace ocrcore {

// A character n-gram language model in the ARPA back-off format (as SRILM,
// KenLM's lmplz and `ocr-lm` write it), whose tokens are single characters:
// one UTF-8 character each, `<space>` for the space, `<s>` and `</s>` for the
// line's start and end, `<unk>` for characters it never saw. Loaded once and
// then read-only: share it between threads.
class OCRCORE_API LanguageModel {
 public:
  // Throws Error naming the file and line of anything malformed.
  static std::shared_ptr<const LanguageModel> load(const std::filesystem::path& arpa);

  int order() const { return order_; }
  // The characters it knows, `<space>` written as " " (without <s>, </s>, <unk>).
  const std::vector<std::string>& characters() const { return characters_; }
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

 private:
  LanguageModel() = default;
  struct Entry {
    float log_prob = 0;  // log10
    float backoff = 0;   // log10
  };
  // N-grams of one order by key (their token ids + 1, one byte each, last
  // token lowest; never 0): open addressing, one probe sequence per lookup,
  // as the decoder looks up several n-grams for every prefix it extends.
  class Table {
   public:
    void reserve(std::size_t n);
    Entry& insert(std::uint64_t key);
    const Entry* find(std::uint64_t key) const;
    std::size_t size() const { return size_; }

   private:
    std::size_t slot(std::uint64_t key) const;
    std::vector<std::uint64_t> keys_;
    std::vector<Entry> entries_;
    std::size_t size_ = 0;
    int shift_ = 64;
  };
  std::vector<Table> ngrams_;  // [n - 1]
  std::unordered_map<std::string, int> ids_;
  std::vector<std::string> characters_;
  int order_ = 0;
  float unknown_log_prob_ = -10.0f;
};

// How the beam decoder uses a language model (shallow fusion): a prefix y
// ranks by log P_ctc(y | frames) + weight * ln P_lm(y) + bonus * |y|, the
// language model also scoring the end of the line. Labels whose log-posterior
// in a frame is below `prune_log_prob` are not tried there (-inf: all are).
struct LanguageModelOptions {
  float weight = 0.5f;
  float bonus = 0.0f;
  float prune_log_prob = -7.0f;
};

}  // namespace ocrcore
