#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>

#include "ocrcore/export.hpp"
#include "ocrcore/image.hpp"
#include "ocrcore/metrics.hpp"
#include "ocrcore/recognizer.hpp"

namespace ocrcore {

// How well a recognizer (its model, backend and decoder) reads transcribed
// lines: the one evaluation loop behind the trainer's validation,
// ocr-compress's tables and the tests. Lines run in batches of similar width;
// the score does not depend on the batch size or the lines' order.

// Lines already normalised for the recognizer's model, with their
// transcriptions (UTF-8). Throws Error if the counts differ; a line that
// fails to run throws too (these lines were prepared, not read from disk).
OCRCORE_API TextScore evaluate(Recognizer& recognizer, std::span<const LineTensor> lines,
                               std::span<const std::string> references, int batch_size = 16);

struct LabelledLine {
  std::filesystem::path image;
  std::string text;  // the transcription, UTF-8
};

// Line images read from disk a few batches at a time (memory stays bounded
// for any number of lines). An image that cannot be loaded or recognised is
// scored as read empty (all its characters missed) and counted in
// TextScore::unreadable: an unreadable line is an error, not a line left out.
OCRCORE_API TextScore evaluate(Recognizer& recognizer, std::span<const LabelledLine> lines,
                               int batch_size = 16);

}  // namespace ocrcore
