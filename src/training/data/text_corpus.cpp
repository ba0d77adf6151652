#include "training/data/text_corpus.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

#include "ocrcore/error.hpp"
#include "ocrcore/metrics.hpp"

namespace ocrcore::data {

TextCorpus::TextCorpus(const std::vector<std::filesystem::path>& files, const Codec& codec) {
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) throw Error(f.string() + ": cannot read corpus file");
    std::string word;
    while (in >> word) {
      if (word.size() > 30 || !is_valid_utf8(word)) continue;
      auto labels = codec.encode(word, UnknownCharacters::map);
      if (!labels || labels->empty()) continue;
      words_.push_back(codec.decode(*labels));
    }
  }
  if (words_.size() < 100)
    throw Error("corpus too small: " + std::to_string(words_.size()) + " usable words");
}

std::string TextCorpus::random_line(int min_chars, int max_chars, std::mt19937_64& rng,
                                    double hyphenate) const {
  std::uniform_int_distribution<int> len(min_chars, max_chars);
  std::uniform_real_distribution<double> u(0, 1);
  const int target = len(rng);
  std::size_t i = std::uniform_int_distribution<std::size_t>(0, words_.size() - 1)(rng);
  const bool caps = u(rng) < 0.04;
  std::string line;
  while (static_cast<int>(line.size()) < target) {
    std::string w = words_[i++ % words_.size()];
    const double r = u(rng);
    // Printed documents have more numbers, references and punctuation than
    // prose corpora: mix some in.
    if (r < 0.05) {
      w = std::to_string(std::uniform_int_distribution<int>(0, 2099)(rng));
    } else if (r < 0.07) {
      std::ostringstream o;
      o << std::uniform_int_distribution<int>(0, 99)(rng) << "."
        << std::uniform_int_distribution<int>(0, 99)(rng);
      w = o.str();
    } else if (r < 0.09) {
      static const char* wraps[] = {"(%)", "[%]", "\"%\"", "'%'", "%,", "%;",
                                    "%:",  "%.",  "%-",    "%?",  "%!", "%%"};
      const std::string pattern = wraps[std::uniform_int_distribution<int>(0, 11)(rng)];
      const auto pos = pattern.find('%');
      w = pattern.substr(0, pos) + w + (pattern.size() > pos + 1 ? pattern.substr(pos + 1) : "");
    } else if (r < 0.10) {
      static const char* symbols[] = {"&", "=", "+", "-", "/", "*", "#", "$",  "@", "<",
                                      ">", "|", "~", "^", "_", "{", "}", "\\", "`"};
      w = symbols[std::uniform_int_distribution<int>(0, 18)(rng)];
    }
    if (caps)
      for (char& c : w)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!line.empty() && static_cast<int>(line.size() + 1 + w.size()) > max_chars) break;
    if (!line.empty()) line += ' ';
    line += w;
  }
  // Break the last word of the line: keep at least two letters on each side.
  if (hyphenate > 0 && u(rng) < hyphenate) {
    const auto start = line.rfind(' ') + 1;  // npos + 1 == 0: a one-word line
    const std::size_t length = line.size() - start;
    bool letters = length >= 5;
    for (std::size_t k = start; k < line.size() && letters; ++k)
      letters = std::isalpha(static_cast<unsigned char>(line[k]));
    if (letters) {
      const auto keep = std::uniform_int_distribution<std::size_t>(2, length - 2)(rng);
      line = line.substr(0, start + keep) + "-";
    }
  }
  return line;
}

}  // namespace ocrcore::data
