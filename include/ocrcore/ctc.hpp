#pragma once

#include <limits>
#include <string>
#include <vector>

#include "ocrcore/export.hpp"
#include "ocrcore/language_model.hpp"
#include "ocrcore/types.hpp"

namespace ocrcore::ctc {

// A labelling (class indices, blank 0 excluded) with its frame alignment.
struct Hypothesis {
  std::vector<int> labels;
  double log_prob = 0.0;  // log P(labels | frames), summed over alignments
  double score = 0.0;     // what ranked it: log_prob, plus the language model's terms
};

// Argmax per frame, merge repeats, drop blanks.
OCRCORE_API std::vector<int> best_path(const LogProbs& log_probs);

// CTC prefix beam search; returns up to `beam_width` hypotheses, best first,
// each with its exact prefix probability log P(labels | frames). Labels whose
// log-posterior in a frame is below `prune_log_prob` are not tried there
// (-inf: all are, as the exactness tests need; a network's frames give most
// labels far less than e^-7, so pruning there changes nothing but the time).
OCRCORE_API std::vector<Hypothesis> prefix_beam_search(
    const LogProbs& log_probs, int beam_width,
    float prune_log_prob = -std::numeric_limits<float>::infinity());

// Prefix beam search with a character language model (shallow fusion, see
// LanguageModelOptions). `alphabet` is the model's (index 0 the blank);
// characters the language model lacks score as its <unk>.
OCRCORE_API std::vector<Hypothesis> prefix_beam_search(const LogProbs& log_probs, int beam_width,
                                                       const LanguageModel& language_model,
                                                       const std::vector<std::string>& alphabet,
                                                       const LanguageModelOptions& options = {});

// log P(labels | frames) by the CTC forward recursion (-inf if impossible).
OCRCORE_API double sequence_log_prob(const LogProbs& log_probs, const std::vector<int>& labels);

// Most likely alignment of `labels` (Viterbi over the CTC topology): for each
// label, the frames [begin, end) that emit it. Empty if impossible.
struct LabelSpan {
  int label;
  int frame_begin;
  int frame_end;
};
OCRCORE_API std::vector<LabelSpan> align(const LogProbs& log_probs, const std::vector<int>& labels);

// best_path's labels with their frames: the argmax path is the most likely
// path of all, so (ties apart) this is align(log_probs, best_path(log_probs))
// without the Viterbi pass.
OCRCORE_API std::vector<LabelSpan> best_path_spans(const LogProbs& log_probs);

}  // namespace ocrcore::ctc
