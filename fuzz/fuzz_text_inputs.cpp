// Text files users hand to the tools: a ground-truth file (NAME.gt.txt), a
// TSV of `path<TAB>text`, and an @list of image paths. Each is read, or
// refused with an ocrcore::Error that names the file.
#include <sstream>

#include "fuzz_util.hpp"
#include "tool_support/line_sources.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocrcore;
  const auto path = fuzz::write_scratch(data, size, ".txt");
  try {
    const std::string text = read_ground_truth(path);
    fuzz::check(fuzz::valid_utf8(text), "ground truth is not UTF-8");
    fuzz::check(text.empty() || text.back() != '\n', "the trailing newline is kept");
  } catch (const Error& e) {
    fuzz::check_error_names(e, path.filename().string());
  }
  try {
    for (const auto& [image, text] : read_ground_truth_tsv(path)) {
      fuzz::check(!image.empty(), "an empty path in the TSV");
      fuzz::check(fuzz::valid_utf8(text), "TSV text is not UTF-8");
    }
  } catch (const Error& e) {
    fuzz::check_error_names(e, path.filename().string());
  }
  // A list may name directories, which are walked: ".." or "/" would walk
  // this machine's file system, which is not parsing. Such lists are left out.
  bool names_a_directory = false;
  std::istringstream lines(std::string(reinterpret_cast<const char*>(data), size));
  for (std::string line; std::getline(lines, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.pop_back();
    std::error_code ec;
    names_a_directory = names_a_directory || (!line.empty() && std::filesystem::is_directory(
                                                                   path.parent_path() / line, ec));
  }
  if (!names_a_directory) try {
      std::istringstream none;
      // The paths of a fuzzed list do not exist (nearly always): an error.
      for (const auto& p : expand_inputs({"@" + path.string()}, none))
        fuzz::check(!p.empty(), "an empty path from the list");
    } catch (const Error&) {
    }
  return 0;
}
