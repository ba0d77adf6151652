#pragma once

#include <vector>

#include "ocrcore/export.hpp"
#include "ocrcore/recognizer.hpp"

namespace ocrcore::ctc {

// A labelling (class indices, blank 0 excluded) with its frame alignment.
struct Hypothesis {
  std::vector<int> labels;
  double log_prob = 0.0;  // log P(labels | frames), summed over alignments
};

// Argmax per frame, merge repeats, drop blanks.
OCRCORE_API std::vector<int> best_path(const LogProbs& log_probs);

// CTC prefix beam search; returns up to `beam_width` hypotheses, best first,
// each with its exact prefix probability log P(labels | frames).
OCRCORE_API std::vector<Hypothesis> prefix_beam_search(const LogProbs& log_probs, int beam_width);

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

}  // namespace ocrcore::ctc
