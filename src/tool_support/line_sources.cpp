#include "tool_support/line_sources.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "ocrcore/error.hpp"
#include "ocrcore/image.hpp"
#include "ocrcore/metrics.hpp"
#include "runtime/core/file_io.hpp"

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

// A file or directory by what it is, not by the path that reached it.
struct FileId {
  dev_t device;
  ino_t inode;
  auto operator<=>(const FileId&) const = default;
};

std::optional<FileId> file_id(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

void add_path(const fs::path& p, const std::string& given, std::vector<fs::path>& out) {
  std::error_code ec;
  auto st = fs::status(p, ec);
  if (ec || !fs::exists(st)) throw Error(given + ": no such file or directory");
  if (fs::is_directory(st)) {
    // Symlinks are followed, but each real directory is entered once (a link
    // back up the tree is a cycle) and each file read once, however many
    // links reach it.
    std::set<FileId> directories, files;
    if (auto id = file_id(p)) directories.insert(*id);
    std::vector<fs::path> found;
    for (auto it =
             fs::recursive_directory_iterator(p,
                                              fs::directory_options::follow_directory_symlink |
                                                  fs::directory_options::skip_permission_denied,
                                              ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const auto id = file_id(it->path());
      if (it->is_directory(ec)) {
        if (!id || !directories.insert(*id).second) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec) && has_image_extension(it->path()) && id &&
          files.insert(*id).second)
        found.push_back(it->path());
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

// Reads one line (without its end) of at most `max_bytes`; false at the end of
// the input. A longer line is an error naming `where` and the line's number:
// a list that never ends a line (/dev/zero) must not fill the memory.
bool read_bounded_line(std::istream& in, std::string& line, std::size_t max_bytes,
                       const std::string& where, std::size_t number) {
  line.clear();
  std::istream::int_type c;
  bool any = false;
  while ((c = in.get()) != std::istream::traits_type::eof()) {
    any = true;
    if (c == '\n') break;
    if (line.size() == max_bytes)
      throw Error(where + ":" + std::to_string(number) + ": line longer than " +
                  std::to_string(max_bytes) + " bytes (not a list of paths?)");
    line.push_back(static_cast<char>(c));
  }
  if (in.bad()) throw Error(where + ": read error");
  return any;
}

constexpr std::size_t kMaxPathLine = 1 << 16;

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
      for (std::size_t n = 1;
           read_bounded_line(stdin_paths, line, kMaxPathLine, "standard input", n); ++n) {
        line = trim_line_end(line);
        if (!line.empty()) add_path(line, line, out);
      }
    } else if (in.size() > 1 && in[0] == '@') {
      const fs::path list = in.substr(1);
      std::ifstream f(list, std::ios::binary);
      if (!f) throw Error(list.string() + ": cannot open list file");
      std::string line;
      for (std::size_t n = 1; read_bounded_line(f, line, kMaxPathLine, list.string(), n); ++n) {
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
  // A line's transcription is short: a bound keeps a file that never ends
  // (a link to /dev/zero) from filling the memory.
  constexpr std::size_t kMaxBytes = 1 << 20;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open: " + std::strerror(errno));
  std::string text;
  char chunk[4096];
  while (text.size() <= kMaxBytes && in.read(chunk, sizeof chunk).gcount() > 0)
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
  if (in.bad()) throw Error(path.string() + ": read error");
  if (text.size() > kMaxBytes)
    throw Error(path.string() + ": ground truth longer than " + std::to_string(kMaxBytes) +
                " bytes (not a transcription?)");
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
  for (std::size_t n = 1; read_bounded_line(f, line, 1 << 20, tsv.string(), n); ++n) {
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

std::string LineSource::name() const {
  return page < 0 ? image.string() : image.string() + "#page=" + std::to_string(page + 1);
}

std::vector<LineSource> split_pages(std::vector<LineSource> sources,
                                    const std::optional<fs::path>& tsv) {
  std::vector<LineSource> out;
  std::optional<std::map<fs::path, std::string>> table;
  for (LineSource& s : sources) {
    const std::string ext = lower(s.image.extension().string());
    int pages = 1;
    if (s.page < 0 && (ext == ".tif" || ext == ".tiff")) {
      try {
        pages = count_image_pages(s.image);
      } catch (const Error&) {
        pages = 1;
      }
    }
    if (pages == 1) {
      out.push_back(std::move(s));
      continue;
    }
    if (tsv && !table) table = read_ground_truth_tsv(*tsv);
    for (int p = 0; p < pages; ++p) {
      LineSource page{s.image, std::nullopt, {}, p};
      if (table) {
        auto it = table->find(lookup_key(page.name()));
        if (it != table->end()) page.ground_truth = it->second;
      }
      out.push_back(std::move(page));
    }
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
