#include "io/line_sources.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>

#include "core/file_io.hpp"
#include "ocrcore/error.hpp"
#include "ocrcore/metrics.hpp"

namespace fs = std::filesystem;

namespace ocrcore {

namespace {

// What a TSV row and an image are matched by: the canonical path where the
// file system can tell, else the path made absolute as written (a name the
// file system refuses, too long for example, cannot name an image anyway).
fs::path lookup_key(const fs::path& p) {
  std::error_code ec;
  fs::path key = fs::weakly_canonical(p, ec);
  if (!ec) return key;
  key = fs::absolute(p, ec);
  return (ec ? p : key).lexically_normal();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim_line_end(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
    s.pop_back();
  return s;
}

void add_path(const fs::path& p, const std::string& given, std::vector<fs::path>& out) {
  std::error_code ec;
  auto st = fs::status(p, ec);
  if (ec || !fs::exists(st)) throw Error(given + ": no such file or directory");
  if (fs::is_directory(st)) {
    std::vector<fs::path> found;
    for (auto it =
             fs::recursive_directory_iterator(p,
                                              fs::directory_options::follow_directory_symlink |
                                                  fs::directory_options::skip_permission_denied,
                                              ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && has_image_extension(it->path())) found.push_back(it->path());
    }
    if (ec) throw Error(given + ": cannot list directory: " + ec.message());
    if (found.empty())
      throw Error(given +
                  ": directory holds no images (.png .jpg .jpeg .tif .tiff .pgm .ppm "
                  ".pnm .pbm .bmp .webp)");
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  } else {
    out.push_back(p);
  }
}

}  // namespace

bool has_image_extension(const fs::path& path) {
  static const char* kExt[] = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pgm",
                               ".ppm", ".pnm", ".pbm",  ".bmp", ".webp"};
  const std::string ext = lower(path.extension().string());
  return std::any_of(std::begin(kExt), std::end(kExt), [&](const char* e) { return ext == e; });
}

std::vector<fs::path> expand_inputs(const std::vector<std::string>& inputs,
                                    std::istream& stdin_paths) {
  std::vector<fs::path> out;
  for (const std::string& in : inputs) {
    if (in == "-") {
      std::string line;
      while (std::getline(stdin_paths, line)) {
        line = trim_line_end(line);
        if (!line.empty()) add_path(line, line, out);
      }
    } else if (in.size() > 1 && in[0] == '@') {
      const fs::path list = in.substr(1);
      std::ifstream f(list);
      if (!f) throw Error(list.string() + ": cannot open list file");
      std::string line;
      while (std::getline(f, line)) {
        line = trim_line_end(line);
        if (line.empty() || line[0] == '#') continue;
        fs::path p = line;
        if (p.is_relative()) p = list.parent_path() / p;
        add_path(p, list.string() + ": " + line, out);
      }
    } else {
      add_path(in, in, out);
    }
  }
  return out;
}

std::optional<fs::path> ground_truth_path(const fs::path& image) {
  // NAME.bin.png and NAME.nrm.png share NAME.gt.txt (Calamari / kraken).
  std::string stem = image.stem().string();
  for (const char* variant : {".bin", ".nrm"})
    if (lower(stem).ends_with(variant)) stem.resize(stem.size() - std::string(variant).size());
  for (const std::string& candidate : {stem + ".gt.txt", image.stem().string() + ".gt.txt"}) {
    fs::path p = image.parent_path() / candidate;
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p;
  }
  return std::nullopt;
}

std::string read_ground_truth(const fs::path& path) {
  std::string text = detail::read_text_file(path);
  if (!is_valid_utf8(text)) {
    // Point at the first bad byte so the user can find it.
    std::size_t good = 0;
    while (good < text.size() && is_valid_utf8(text.substr(0, good + 1)))
      ++good;
    throw Error(path.string() + ": ground truth is not valid UTF-8 (bad byte at offset " +
                std::to_string(good) + ")");
  }
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);  // BOM
  return trim_line_end(text);
}

std::map<fs::path, std::string> read_ground_truth_tsv(const fs::path& tsv) {
  std::ifstream f(tsv, std::ios::binary);
  if (!f) throw Error(tsv.string() + ": cannot open ground-truth TSV");
  std::map<fs::path, std::string> out;
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    line = trim_line_end(line);
    if (line.empty()) continue;
    const auto tab = line.find('\t');
    if (tab == std::string::npos)
      throw Error(tsv.string() + ":" + std::to_string(n) + ": expected 'path<TAB>text'");
    if (!is_valid_utf8(line))
      throw Error(tsv.string() + ":" + std::to_string(n) + ": not valid UTF-8");
    fs::path p = line.substr(0, tab);
    if (p.is_relative()) p = tsv.parent_path() / p;
    out[lookup_key(p)] = line.substr(tab + 1);
  }
  return out;
}

std::vector<LineSource> attach_ground_truth(const std::vector<fs::path>& images,
                                            const std::optional<fs::path>& tsv) {
  std::map<fs::path, std::string> table;
  if (tsv) table = read_ground_truth_tsv(*tsv);
  std::vector<LineSource> out;
  out.reserve(images.size());
  for (const auto& image : images) {
    LineSource s{image, std::nullopt, {}};
    if (tsv) {
      auto it = table.find(lookup_key(image));
      if (it != table.end()) s.ground_truth = it->second;
    } else if (auto gt = ground_truth_path(image)) {
      try {
        s.ground_truth = read_ground_truth(*gt);
      } catch (const Error& e) {
        s.ground_truth_error = e.what();
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::filesystem::path> expand_text_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::filesystem::path> out;
  for (const std::string& in : inputs) {
    std::error_code ec;
    const auto st = fs::status(in, ec);
    if (fs::is_directory(st)) {
      for (auto it = fs::recursive_directory_iterator(in, ec); !ec && it != fs::end(it);
           it.increment(ec))
        if (it->is_regular_file(ec)) out.push_back(it->path());
      if (ec) throw Error(in + ": cannot read the corpus directory: " + ec.message());
    } else if (fs::is_regular_file(st)) {
      out.push_back(in);
    } else {
      throw Error(in + ": no such corpus file or directory" +
                  (ec && ec != std::errc::no_such_file_or_directory ? " (" + ec.message() + ")"
                                                                    : std::string()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ocrcore
