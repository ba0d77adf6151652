#pragma once

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "ocrcore/ocrcore.hpp"

namespace ocrcore::test {

// Fills every tensor an architecture needs with seeded random values (batch
// norm variances positive), scaled so activations stay in a useful range.
TensorMap random_tensors(const Architecture& arch, unsigned seed);

// An alphabet of `classes` entries: blank, then a, b, c, ...
std::vector<std::string> test_alphabet(int classes);

std::shared_ptr<const Model> random_model(const Architecture& arch, unsigned seed);

// A light image with a tenth of its pixels dark, at seeded random places.
Image random_image(int width, int height, unsigned seed);

// A small CRNN with every layer kind: conv, batch norm, ReLU, pooling with
// ceil mode, Tucker conv (with and without input factor), strided conv,
// standalone ReLU, dropout, 2-layer BLSTM, linear.
Architecture small_crnn(int height = 16, int classes = 9);

// Per-frame log-posteriors drawn as log-softmax of Gaussian scores (larger
// `sharpness`: peakier frames).
LogProbs random_log_probs(int frames, int classes, std::mt19937& rng, float sharpness = 2.0f);

// A character language model in ARPA format over a, b and the space, with
// bigrams and back-off weights ("a" is far likelier than "b" as a whole line).
extern const char* const kTinyCharacterArpa;

// A tiny CNN-BLSTM for printable ASCII on 16-pixel lines (conv, batch norm,
// pooling, dropout, one BLSTM layer): what the tool tests train in seconds.
extern const char* const kTinyLineArchitecture;

// Every CTC path of a tiny LogProbs enumerated: per labelling, its probability
// (summed over paths) and its best path's log-probability.
struct CtcBruteForce {
  std::map<std::vector<int>, double> prob;
  std::map<std::vector<int>, double> best_path;
};
CtcBruteForce enumerate_ctc_paths(const LogProbs& lp);
// A path with repeats merged and blanks (0) dropped.
std::vector<int> collapse_path(const std::vector<int>& path);

// A random line: background 0 with ink blobs.
LineTensor random_line(int height, int width, std::mt19937& rng);

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);

// A fresh empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::filesystem::path fixtures_dir();
// ../shared/data, or empty when absent (tests that need it skip).
std::filesystem::path shared_data_dir();

// Every F32 tensor of a safetensors file (fixtures).
TensorMap read_safetensors_file(const std::filesystem::path& path);

// Writes bytes to a file.
void write_bytes(const std::filesystem::path& path, const std::string& bytes);
std::string read_bytes(const std::filesystem::path& path);

// Sets an environment variable for the current scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_.c_str(), old_->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace ocrcore::test
