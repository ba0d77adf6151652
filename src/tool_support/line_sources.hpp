#pragma once

#include <filesystem>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ocrcore {

// One line image to recognise, with its ground truth when known.
struct LineSource {
  std::filesystem::path image;
  std::optional<std::string> ground_truth;
  std::string ground_truth_error;  // why the ground truth could not be read
  int page = -1;                   // page of a multi-page TIFF (0-based); -1: the file's only image
  // How results name the line: the path, or PATH#page=N (from 1) for a page.
  std::string name() const;
};

// Extensions recognised as line images when walking directories.
bool has_image_extension(const std::filesystem::path& path);

// Expands command-line inputs: image files, directories (recursive, sorted,
// by extension), `@list.txt` (one path per line, relative to the list's
// folder) and `-` (paths on `stdin_paths`). Throws Error for missing paths and
// for a directory that holds no images.
std::vector<std::filesystem::path> expand_inputs(const std::vector<std::string>& inputs,
                                                 std::istream& stdin_paths);

// Text files named directly or found in directories (recursive), sorted: the
// corpus inputs of ocr-synth and ocr-lm. Throws Error for a missing path.
std::vector<std::filesystem::path> expand_text_inputs(const std::vector<std::string>& inputs);

// Ground truth beside an image: NAME.gt.txt for NAME.png or NAME.bin.png
// (tesstrain / Calamari / kraken convention). nullopt if there is none.
std::optional<std::filesystem::path> ground_truth_path(const std::filesystem::path& image);

// Reads one ground-truth file: UTF-8, trailing newline removed. Throws Error
// naming the file when it is unreadable or not UTF-8.
std::string read_ground_truth(const std::filesystem::path& path);

// TSV of `path<TAB>text` lines; relative paths are resolved against the TSV's
// folder. Throws Error naming the file and line number of a malformed row.
std::map<std::filesystem::path, std::string> read_ground_truth_tsv(
    const std::filesystem::path& tsv);

// Pairs each image with its ground truth: from `tsv` when given (keys compared
// as weakly canonical paths), else from the file beside it.
std::vector<LineSource> attach_ground_truth(const std::vector<std::filesystem::path>& images,
                                            const std::optional<std::filesystem::path>& tsv);

// Each page of a multi-page TIFF among `sources` becomes a line of its own,
// named PATH#page=N, in page order where the file was; its ground truth is the
// `tsv` row of that name (a NAME.gt.txt beside the file cannot tell pages
// apart). A file whose pages cannot be counted stays as it is: reading it
// reports why.
std::vector<LineSource> split_pages(std::vector<LineSource> sources,
                                    const std::optional<std::filesystem::path>& tsv);

}  // namespace ocrcore
