#include "tool_support/error_report.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace ocrcore::tools {

void ErrorReport::add(std::string id, std::string_view hypothesis, std::string_view reference) {
  for (CharacterEdit& e : character_edits(hypothesis, reference)) {
    ++counts_[{std::move(e.reference), std::move(e.hypothesis)}];
    ++total_edits_;
  }
  lines_.push_back({std::move(id), std::string(hypothesis), std::string(reference),
                    character_errors(hypothesis, reference)});
}

std::vector<ErrorReport::Confusion> ErrorReport::confusions(std::size_t top) const {
  std::vector<Confusion> out;
  for (const auto& [key, count] : counts_)
    out.push_back({key.first, key.second, count});
  // std::map iterates in (reference, hypothesis) order: a stable sort by count
  // keeps it for ties.
  std::stable_sort(out.begin(), out.end(),
                   [](const Confusion& a, const Confusion& b) { return a.count > b.count; });
  if (out.size() > top) out.resize(top);
  return out;
}

std::vector<ErrorReport::Line> ErrorReport::worst_lines(std::size_t count) const {
  std::vector<Line> out;
  for (const Line& l : lines_)
    if (l.chars.errors > 0) out.push_back(l);
  std::stable_sort(out.begin(), out.end(), [](const Line& a, const Line& b) {
    if (a.chars.errors != b.chars.errors) return a.chars.errors > b.chars.errors;
    return a.chars.rate() > b.chars.rate();
  });
  if (out.size() > count) out.resize(count);
  return out;
}

namespace {

// A character as the tables show it: quoted, with space and tab named.
std::string shown(const std::string& c) {
  if (c == " ") return "<space>";
  if (c == "\t") return "<tab>";
  return "'" + c + "'";
}

}  // namespace

std::string ErrorReport::text(std::size_t top, std::size_t worst) const {
  std::string out;
  char buf[64];
  out += "most frequent errors (" + std::to_string(total_edits_) + " in all):\n";
  for (const Confusion& c : confusions(top)) {
    std::snprintf(buf, sizeof buf, "  %6zu  ", c.count);
    out += buf;
    if (c.reference.empty())
      out += shown(c.hypothesis) + " inserted\n";
    else if (c.hypothesis.empty())
      out += shown(c.reference) + " deleted\n";
    else
      out += shown(c.reference) + " read as " + shown(c.hypothesis) + "\n";
  }
  const auto lines = worst_lines(worst);
  if (!lines.empty()) out += "worst lines:\n";
  for (const Line& l : lines) {
    std::snprintf(buf, sizeof buf, "  %zu errors / %zu chars (%.1f%%) ", l.chars.errors,
                  l.chars.reference_length, 100 * l.chars.rate());
    out += buf + l.id + "\n    truth: " + l.reference + "\n    read:  " + l.hypothesis + "\n";
  }
  return out;
}

std::string ErrorReport::json(std::size_t top, std::size_t worst) const {
  nlohmann::json j;
  j["edits"] = total_edits_;
  j["confusions"] = nlohmann::json::array();
  for (const Confusion& c : confusions(top))
    j["confusions"].push_back(
        {{"reference", c.reference}, {"hypothesis", c.hypothesis}, {"count", c.count}});
  j["worst_lines"] = nlohmann::json::array();
  for (const Line& l : worst_lines(worst))
    j["worst_lines"].push_back({{"image", l.id},
                                {"reference", l.reference},
                                {"hypothesis", l.hypothesis},
                                {"errors", l.chars.errors},
                                {"length", l.chars.reference_length}});
  return j.dump(2) + "\n";
}

}  // namespace ocrcore::tools
