#pragma once

#include <string>
#include <vector>

#include "ocrcore/language_model.hpp"
#include "ocrcore/metrics.hpp"
#include "ocrcore/types.hpp"

namespace ocrcore::lm {

// A validation line as the decoder sees it: the network's output, computed
// once, and the transcription it should decode to.
struct TuningLine {
  LogProbs log_probs;
  std::string truth;
};

struct TuningPoint {
  float weight = 0.0f;
  float bonus = 0.0f;
  ErrorCount chars, words;
};

struct TuningGrid {
  std::vector<float> weights, bonuses;
  int beam_width = 10;
  float prune_log_prob = LanguageModelOptions{}.prune_log_prob;
  int threads = 1;
};

// Decodes every line at every (weight, bonus) of the grid with the language
// model (prefix beam search, shallow fusion) and scores it: the network runs
// once, the grid costs decoding only. Points in grid order, weights outer.
std::vector<TuningPoint> evaluate_weight_grid(const std::vector<TuningLine>& lines,
                                              const LanguageModel& language_model,
                                              const std::vector<std::string>& alphabet,
                                              const TuningGrid& grid);

// Greedy decoding of the same lines: the baseline the grid is compared with.
TuningPoint evaluate_greedy(const std::vector<TuningLine>& lines,
                            const std::vector<std::string>& alphabet, int threads);

// The point with the fewest character errors; ties go to fewer word errors,
// then to the smaller weight and bonus (the milder change to the network's
// reading).
const TuningPoint& best_point(const std::vector<TuningPoint>& points);

}  // namespace ocrcore::lm
