#include "training/lm/weight_tuning.hpp"

#include <tuple>

#include "ocrcore/ctc.hpp"
#include "ocrcore/error.hpp"

namespace ocrcore::lm {

namespace {

std::string labels_to_text(const std::vector<int>& labels,
                           const std::vector<std::string>& alphabet) {
  std::string text;
  for (int l : labels)
    text += alphabet[static_cast<std::size_t>(l)];
  return text;
}

// Scores decode(line) over all lines, in parallel; sums in line order so the
// result does not depend on the thread count.
template <typename Decode>
void score_lines(const std::vector<TuningLine>& lines, int threads, TuningPoint& point,
                 const Decode& decode) {
  std::vector<TextScore> scores(lines.size());
  const auto n = static_cast<std::ptrdiff_t>(lines.size());
#pragma omp parallel for schedule(dynamic, 4) num_threads(threads)
  for (std::ptrdiff_t k = 0; k < n; ++k) {
    const auto i = static_cast<std::size_t>(k);
    scores[i].add(decode(lines[i].log_probs), lines[i].truth);
  }
  TextScore total;
  for (const TextScore& s : scores)
    total += s;
  point.chars = total.chars;
  point.words = total.words;
}

}  // namespace

std::vector<TuningPoint> evaluate_weight_grid(const std::vector<TuningLine>& lines,
                                              const LanguageModel& language_model,
                                              const std::vector<std::string>& alphabet,
                                              const TuningGrid& grid) {
  if (grid.weights.empty() || grid.bonuses.empty())
    throw Error("the weight grid needs at least one weight and one bonus");
  if (grid.beam_width < 1) throw Error("beam width must be >= 1");
  std::vector<TuningPoint> points;
  for (float weight : grid.weights)
    for (float bonus : grid.bonuses) {
      TuningPoint p;
      p.weight = weight;
      p.bonus = bonus;
      const LanguageModelOptions options{weight, bonus, grid.prune_log_prob};
      score_lines(lines, grid.threads, p, [&](const LogProbs& lp) {
        auto hyps = ctc::prefix_beam_search(lp, grid.beam_width, language_model, alphabet, options);
        return labels_to_text(hyps.front().labels, alphabet);
      });
      points.push_back(p);
    }
  return points;
}

TuningPoint evaluate_greedy(const std::vector<TuningLine>& lines,
                            const std::vector<std::string>& alphabet, int threads) {
  TuningPoint p;
  score_lines(lines, threads, p,
              [&](const LogProbs& lp) { return labels_to_text(ctc::best_path(lp), alphabet); });
  return p;
}

const TuningPoint& best_point(const std::vector<TuningPoint>& points) {
  if (points.empty()) throw Error("no tuning points");
  const TuningPoint* best = &points.front();
  auto key = [](const TuningPoint& p) {
    return std::make_tuple(p.chars.errors, p.words.errors, p.weight, p.bonus);
  };
  for (const auto& p : points)
    if (key(p) < key(*best)) best = &p;
  return *best;
}

}  // namespace ocrcore::lm
