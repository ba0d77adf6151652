#include "ocrcore/evaluation.hpp"

#include <algorithm>
#include <new>
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
  if (batch_size < 1) throw Error("batch size must be >= 1");
  TextScore score;
  const std::size_t window = static_cast<std::size_t>(batch_size) * 8;
  for (std::size_t begin = 0; begin < lines.size(); begin += window) {
    const std::size_t end = std::min(lines.size(), begin + window);
    std::vector<Image> images;
    std::vector<std::size_t> loaded;  // index in `lines` of each image
    for (std::size_t i = begin; i < end; ++i) {
      try {
        images.push_back(load_image(lines[i].image));
        loaded.push_back(i);
      } catch (const Error&) {
        score.add("", lines[i].text);
        ++score.unreadable;
      } catch (const std::bad_alloc&) {
        score.add("", lines[i].text);
        ++score.unreadable;
      }
    }
    const std::vector<ImageView> views(images.begin(), images.end());
    const auto outcomes = recognizer.recognize_each(views, batch_size);
    for (std::size_t k = 0; k < outcomes.size(); ++k) {
      score.add(outcomes[k].result ? outcomes[k].result->text : std::string(),
                lines[loaded[k]].text);
      if (!outcomes[k].result) ++score.unreadable;
    }
  }
  return score;
}

}  // namespace ocrcore
