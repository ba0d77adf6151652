#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ocrcore/metrics.hpp"

namespace ocrcore::tools {

// What a recogniser gets wrong over a set of lines, as ocropus-econf and
// calamari-eval report it: the most frequent confusions (substitutions,
// insertions, deletions of single characters, with counts) and the lines with
// the most errors.
class ErrorReport {
 public:
  struct Confusion {
    std::string reference;   // empty: an inserted character
    std::string hypothesis;  // empty: a deleted character
    std::size_t count = 0;
  };
  struct Line {
    std::string id;  // image path
    std::string hypothesis, reference;
    ErrorCount chars;
  };

  void add(std::string id, std::string_view hypothesis, std::string_view reference);

  // Most frequent first (ties in reference, then hypothesis order).
  std::vector<Confusion> confusions(std::size_t top) const;
  // Most errors first (ties: higher error rate, then input order).
  std::vector<Line> worst_lines(std::size_t count) const;
  std::size_t total_edits() const { return total_edits_; }

  // Human-readable tables of the top confusions and the worst lines.
  std::string text(std::size_t top, std::size_t worst) const;
  // The same as a JSON object: {"edits", "confusions": [{reference, hypothesis,
  // count}], "worst_lines": [{image, reference, hypothesis, errors, length}]}.
  std::string json(std::size_t top, std::size_t worst) const;

 private:
  std::map<std::pair<std::string, std::string>, std::size_t> counts_;
  std::vector<Line> lines_;
  std::size_t total_edits_ = 0;
};

}  // namespace ocrcore::tools
