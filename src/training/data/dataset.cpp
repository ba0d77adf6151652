#include "training/data/dataset.hpp"

#include <sstream>

#include "ocrcore/error.hpp"
#include "tool_support/line_sources.hpp"

namespace ocrcore::data {

std::string DatasetReport::summary() const {
  std::ostringstream o;
  o << lines << " lines";
  if (unlabelled) o << " (" << unlabelled << " without transcription)";
  if (without_ground_truth)
    o << ", " << without_ground_truth << " images without ground truth skipped";
  if (unencodable)
    o << ", " << unencodable << " lines with characters outside the alphabet skipped";
  if (characters_dropped)
    o << ", " << characters_dropped << " characters outside the alphabet dropped";
  if (!unknown_characters.empty()) {
    o << " (characters:";
    int shown = 0;
    for (const auto& [ch, count] : unknown_characters) {
      if (++shown > 12) {
        o << " ...";
        break;
      }
      o << " '" << ch << "' x" << count;
    }
    o << ")";
  }
  if (!example.empty()) o << "; e.g. " << example;
  return o.str();
}

std::vector<LabelledLine> read_dataset(const std::vector<std::string>& inputs, const Codec& codec,
                                       UnknownCharacters policy, DatasetReport* report,
                                       bool allow_unlabelled) {
  DatasetReport local;
  DatasetReport& r = report ? *report : local;
  std::vector<LabelledLine> out;
  for (const std::string& input : inputs) {
    const std::filesystem::path path(input);
    std::vector<LineSource> sources;
    if (path.extension() == ".tsv") {
      if (!std::filesystem::is_regular_file(path)) throw Error(input + ": no such file");
      for (auto& [image, text] : read_ground_truth_tsv(path))
        sources.push_back({image, text, {}});
    } else {
      std::istringstream none;
      sources = attach_ground_truth(expand_inputs({input}, none), std::nullopt);
    }
    std::size_t usable = 0;
    for (LineSource& s : sources) {
      if (!s.ground_truth) {
        if (allow_unlabelled) {
          out.push_back({s.image, "", {}, false});
          ++r.unlabelled;
          ++usable;
        } else {
          ++r.without_ground_truth;
        }
        continue;
      }
      std::vector<std::string> unknown;
      auto labels = codec.encode(*s.ground_truth, policy, &unknown);
      for (const std::string& ch : unknown)
        ++r.unknown_characters[ch];
      if (!labels) {
        ++r.unencodable;
        if (r.example.empty()) r.example = s.image.string() + ": \"" + *s.ground_truth + "\"";
        continue;
      }
      r.characters_dropped += unknown.size();
      out.push_back({s.image, *s.ground_truth, std::move(*labels), true});
      ++usable;
    }
    if (usable == 0)
      throw Error(input + (allow_unlabelled
                               ? ": no line images"
                               : ": no usable line (images with transcriptions in the alphabet)"));
  }
  r.lines = out.size();
  return out;
}

}  // namespace ocrcore::data
