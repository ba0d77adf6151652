#include "ocrcore/evaluation.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

#include "ocrcore/error.hpp"

namespace ocrcore {

TextScore evaluate(Recognizer& recognizer, std::span<const LineTensor> lines,
                   std::span<const std::string> references, int batch_size) {
  if (lines.size() != references.size())
    throw Error("evaluation: " + std::to_string(lines.size()) + " lines but " +
                std::to_string(references.size()) + " transcriptions");
  if (batch_size < 1) throw Error("batch size must be >= 1");
  // Widest first, as Recognizer::recognize_each batches: less padding, and a
  // narrower batch reuses the shapes built for a wider one.
  std::vector<std::size_t> order(lines.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return lines[a].width > lines[b].width; });
  TextScore score;
  std::vector<LineTensor> batch;
  for (std::size_t b0 = 0; b0 < order.size(); b0 += static_cast<std::size_t>(batch_size)) {
    const std::size_t b1 = std::min(order.size(), b0 + static_cast<std::size_t>(batch_size));
    batch.clear();
    for (std::size_t k = b0; k < b1; ++k)
      batch.push_back(lines[order[k]]);
    const auto log_probs = recognizer.forward(batch);
    for (std::size_t k = b0; k < b1; ++k)
      score.add(recognizer.decode(log_probs[k - b0]).text, references[order[k]]);
  }
  return score;
}

TextScore evaluate(Recognizer& recognizer, std::span<const LabelledLine> lines, int batch_size) {
  std::vector<std::filesystem::path> paths;
  paths.reserve(lines.size());
  for (const LabelledLine& l : lines)
    paths.push_back(l.image);
  TextScore score;
  recognizer.recognize_files(
      paths,
      [&](std::size_t i, LineOutcome&& outcome) {
        score.add(outcome.result ? outcome.result->text : std::string(), lines[i].text);
        if (!outcome.result) ++score.unreadable;
      },
      batch_size);
  return score;
}

}  // namespace ocrcore
