#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "ocrcore/ctc.hpp"
#include "ocrcore/error.hpp"
#include "runtime/ctc/ctc_math.hpp"

namespace ocrcore::ctc {

std::vector<LabelSpan> best_path_spans(const LogProbs& lp) {
  std::vector<LabelSpan> spans;
  int prev = 0;
  for (int t = 0; t < lp.frames; ++t) {
    const float* f = lp.frame(t);
    const int k = static_cast<int>(std::max_element(f, f + lp.classes) - f);
    if (k != 0 && k != prev) spans.push_back({k, t, t + 1});
    if (k != 0) spans.back().frame_end = t + 1;
    prev = k;
  }
  return spans;
}

std::vector<int> best_path(const LogProbs& lp) {
  std::vector<int> labels;
  for (const auto& span : best_path_spans(lp))
    labels.push_back(span.label);
  return labels;
}

namespace {

// The language model's side of a beam search: its weighted log-probabilities
// (natural log) for the model's labels.
struct LmTerms {
  const LanguageModel* lm = nullptr;
  std::vector<int> tokens;  // model label -> LM token
  double weight = 0, bonus = 0, prune = kNegInf;
};

std::vector<Hypothesis> beam_search(const LogProbs& lp, int beam_width, const LmTerms& terms) {
  beam_width = std::max(1, beam_width);
  const double ln10 = std::log(10.0);
  // Prefixes live in a trie; a node carries the language model's context after
  // the prefix and the prefix's language-model terms (0 without a model).
  struct Node {
    int parent;
    int label;
    LanguageModel::State state;
    double lm;
  };
  std::vector<Node> nodes{{-1, 0, terms.lm ? terms.lm->begin_state() : 0, 0.0}};
  // (node, label) -> child in an open-addressing table kept at most half
  // full: one multiply and, mostly, one probe per extension.
  std::vector<std::uint64_t> child_keys(1024, 0);
  std::vector<int> child_ids(1024);
  int child_shift = 64 - 10;
  auto slot_of = [&](std::uint64_t key) {
    std::size_t i = (key * 0x9E3779B97F4A7C15ull) >> child_shift;
    while (child_keys[i] != 0 && child_keys[i] != key)
      i = (i + 1) & (child_keys.size() - 1);
    return i;
  };
  auto child = [&](int node, int label) {
    // +1: key 0 marks an empty slot.
    const std::uint64_t key = ((std::uint64_t(node) << 32) | std::uint32_t(label)) + 1;
    std::size_t i = slot_of(key);
    if (child_keys[i] == key) return child_ids[i];
    const int c = static_cast<int>(nodes.size());
    Node n{node, label, 0, nodes[node].lm};
    if (terms.lm)
      n.lm +=
          terms.weight * ln10 * terms.lm->score(nodes[node].state, terms.tokens[label], &n.state) +
          terms.bonus;
    nodes.push_back(n);
    if (2 * nodes.size() > child_keys.size()) {
      std::vector<std::uint64_t> keys(2 * child_keys.size(), 0);
      std::vector<int> ids(keys.size());
      keys.swap(child_keys);
      ids.swap(child_ids);
      --child_shift;
      for (std::size_t j = 0; j < keys.size(); ++j)
        if (keys[j] != 0) {
          const std::size_t k = slot_of(keys[j]);
          child_keys[k] = keys[j];
          child_ids[k] = ids[j];
        }
      i = slot_of(key);
    }
    child_keys[i] = key;
    child_ids[i] = c;
    return c;
  };
  // A beam entry: a node with the probabilities of its prefix ending in blank
  // (pb) and in its last label (pnb).
  struct Score {
    double pb = kNegInf, pnb = kNegInf;
    bool touched = false;
    double total() const { return log_add(pb, pnb); }
  };
  std::vector<std::pair<int, Score>> beam{{0, Score{0.0, kNegInf}}};
  // The next frame's scores by node (grown with the trie) and the nodes they
  // touch: no hashing per extension.
  std::vector<Score> next;
  std::vector<int> touched;
  auto at = [&](int node) -> Score& {
    if (static_cast<std::size_t>(node) >= next.size()) next.resize(nodes.size() + 64);
    Score& sc = next[node];
    if (!sc.touched) {
      sc.touched = true;
      touched.push_back(node);
    }
    return sc;
  };
  auto better = [&](const auto& a, const auto& b) {
    const double ta = a.second.total() + nodes[a.first].lm,
                 tb = b.second.total() + nodes[b.first].lm;
    return ta != tb ? ta > tb : a.first < b.first;  // ties: deterministic
  };
  std::vector<int> candidates;  // this frame's labels above the pruning threshold
  for (int t = 0; t < lp.frames; ++t) {
    const float* f = lp.frame(t);
    candidates.clear();
    for (int k = 1; k < lp.classes; ++k)
      if (f[k] >= terms.prune) candidates.push_back(k);
    if (candidates.empty()) {
      // No prefix grows (most frames of a line, between characters): each
      // entry stays itself, so no two can merge.
      for (auto& [node, s] : beam) {
        const int last = nodes[node].label;
        const double pb = s.total() + f[0];
        s.pnb = last != 0 ? s.pnb + f[last] : kNegInf;
        s.pb = pb;
      }
      std::sort(beam.begin(), beam.end(), better);
      continue;
    }
    for (const auto& [node, s] : beam) {
      const double total = s.total();
      Score& same = at(node);
      same.pb = log_add(same.pb, total + f[0]);
      const int last = nodes[node].label;  // 0 for the empty prefix
      if (last != 0) same.pnb = log_add(same.pnb, s.pnb + f[last]);
      for (int k : candidates) {
        // A repeated label only extends the prefix when a blank separates them.
        const double from = k == last ? s.pb : total;
        if (from == kNegInf) continue;
        const int c = child(node, k);
        Score& ext = at(c);
        ext.pnb = log_add(ext.pnb, from + f[k]);
      }
    }
    beam.clear();
    for (int node : touched) {
      beam.push_back({node, next[node]});
      next[node] = Score{};
    }
    touched.clear();
    if (static_cast<int>(beam.size()) > beam_width) {
      std::partial_sort(beam.begin(), beam.begin() + beam_width, beam.end(), better);
      beam.resize(beam_width);
    } else {
      std::sort(beam.begin(), beam.end(), better);
    }
  }
  std::vector<Hypothesis> out;
  for (const auto& [node, s] : beam) {
    Hypothesis h;
    h.log_prob = s.total();
    h.score = h.log_prob + nodes[node].lm;
    if (terms.lm)
      h.score +=
          terms.weight * ln10 * terms.lm->score(nodes[node].state, LanguageModel::kEnd, nullptr);
    for (int n = node; n > 0; n = nodes[n].parent)
      h.labels.push_back(nodes[n].label);
    std::reverse(h.labels.begin(), h.labels.end());
    out.push_back(std::move(h));
  }
  // The end of the line can reorder the beam.
  std::stable_sort(out.begin(), out.end(),
                   [](const Hypothesis& a, const Hypothesis& b) { return a.score > b.score; });
  return out;
}

}  // namespace

std::vector<Hypothesis> prefix_beam_search(const LogProbs& lp, int beam_width,
                                           float prune_log_prob) {
  LmTerms terms;
  terms.prune = prune_log_prob;
  return beam_search(lp, beam_width, terms);
}

std::vector<Hypothesis> prefix_beam_search(const LogProbs& lp, int beam_width,
                                           const LanguageModel& lm,
                                           const std::vector<std::string>& alphabet,
                                           const LanguageModelOptions& options) {
  if (static_cast<int>(alphabet.size()) != lp.classes)
    throw Error("language-model decoding: the alphabet has " + std::to_string(alphabet.size()) +
                " entries but the log-probabilities " + std::to_string(lp.classes) + " classes");
  LmTerms terms;
  terms.lm = &lm;
  terms.weight = options.weight;
  terms.bonus = options.bonus;
  terms.prune = options.prune_log_prob;
  terms.tokens.resize(alphabet.size(), LanguageModel::kUnknown);
  for (std::size_t k = 1; k < alphabet.size(); ++k)
    terms.tokens[k] = lm.token(alphabet[k]);
  return beam_search(lp, beam_width, terms);
}

// The forward algorithm in probability space, each frame's alphas divided by
// their sum and the logs of those sums added up (Rabiner's scaling): no
// log/exp pair per cell as in log space, only one exp per distinct symbol and
// one log per frame. Recognizer::decode runs it on every line for the
// confidence, where the log-space version cost as much as the LSTM's output
// layer.
double sequence_log_prob(const LogProbs& lp, const std::vector<int>& labels) {
  const int S = 2 * static_cast<int>(labels.size()) + 1;
  if (lp.frames == 0) return labels.empty() ? 0.0 : kNegInf;
  // Distinct symbols (blank first) and each state's index among them.
  std::vector<int> symbols{0}, state_symbol(S, 0);
  for (int s = 1; s < S; s += 2) {
    const int label = labels[s / 2];
    auto it = std::find(symbols.begin(), symbols.end(), label);
    state_symbol[s] = static_cast<int>(it - symbols.begin());
    if (it == symbols.end()) symbols.push_back(label);
  }
  // A state may be entered from two back when it is a label unlike the one
  // two back (a blank or a repeat must be passed through).
  std::vector<char> skip(S, 0);
  for (int s = 3; s < S; s += 2)
    skip[s] = labels[s / 2] != labels[s / 2 - 1];
  std::vector<double> p(symbols.size()), alpha(S, 0.0), next(S);
  auto frame_probs = [&](int t) {
    const float* f = lp.frame(t);
    for (std::size_t k = 0; k < symbols.size(); ++k)
      p[k] = std::exp(static_cast<double>(f[symbols[k]]));
  };
  double log_scale = 0;
  auto normalise = [&](std::vector<double>& a) {
    double sum = 0;
    for (double v : a)
      sum += v;
    if (sum == 0) return false;  // every path impossible (or underflowed in one frame)
    for (double& v : a)
      v /= sum;
    log_scale += std::log(sum);
    return true;
  };
  frame_probs(0);
  alpha[0] = p[0];
  if (S > 1) alpha[1] = p[state_symbol[1]];
  if (!normalise(alpha)) return kNegInf;
  for (int t = 1; t < lp.frames; ++t) {
    frame_probs(t);
    next[0] = alpha[0] * p[0];
    for (int s = 1; s < S; ++s) {
      double a = alpha[s] + alpha[s - 1];
      if (skip[s]) a += alpha[s - 2];
      next[s] = a * p[state_symbol[s]];
    }
    alpha.swap(next);
    if (!normalise(alpha)) return kNegInf;
  }
  const double end = S > 1 ? alpha[S - 1] + alpha[S - 2] : alpha[0];
  return end > 0 ? log_scale + std::log(end) : kNegInf;
}

std::vector<LabelSpan> align(const LogProbs& lp, const std::vector<int>& labels) {
  const int S = 2 * static_cast<int>(labels.size()) + 1, T = lp.frames;
  if (T == 0) return {};
  auto sym = [&](int s) { return s % 2 == 0 ? 0 : labels[s / 2]; };
  std::vector<double> delta(S, kNegInf), next(S);
  std::vector<int> back(static_cast<std::size_t>(T) * S, -1);
  delta[0] = lp.frame(0)[0];
  if (S > 1) delta[1] = lp.frame(0)[sym(1)];
  for (int t = 1; t < T; ++t) {
    const float* f = lp.frame(t);
    for (int s = 0; s < S; ++s) {
      double best = delta[s];
      int from = s;
      if (s >= 1 && delta[s - 1] > best) best = delta[s - 1], from = s - 1;
      if (s >= 2 && sym(s) != 0 && sym(s) != sym(s - 2) && delta[s - 2] > best)
        best = delta[s - 2], from = s - 2;
      next[s] = best == kNegInf ? kNegInf : best + f[sym(s)];
      back[static_cast<std::size_t>(t) * S + s] = from;
    }
    delta.swap(next);
  }
  int s = S - 1;
  if (S > 1 && delta[S - 2] > delta[S - 1]) s = S - 2;
  if (delta[s] == kNegInf) return {};
  std::vector<LabelSpan> spans(labels.size(), LabelSpan{0, T, 0});
  for (int t = T - 1; t >= 0; --t) {
    if (s % 2 == 1) {
      LabelSpan& span = spans[s / 2];
      span.label = labels[s / 2];
      span.frame_begin = std::min(span.frame_begin, t);
      span.frame_end = std::max(span.frame_end, t + 1);
    }
    if (t > 0) s = back[static_cast<std::size_t>(t) * S + s];
  }
  return spans;
}

}  // namespace ocrcore::ctc
