#include "test_util.hpp"

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "runtime/core/file_io.hpp"
#include "runtime/core/safetensors.hpp"
#include "runtime/graph/shapes.hpp"

namespace ocrcore::test {

const char* const kTinyLineArchitecture = R"({"input_height": 16, "layers": [
  {"type": "conv2d", "name": "c0", "in_channels": 1, "out_channels": 8, "kernel_size": 3, "padding": 1},
  {"type": "batchnorm2d", "name": "bn0", "num_features": 8}, {"type": "relu"},
  {"type": "maxpool2d", "kernel_size": 2},
  {"type": "conv2d", "name": "c1", "in_channels": 8, "out_channels": 16, "kernel_size": 3, "padding": 1},
  {"type": "relu"}, {"type": "maxpool2d", "kernel_size": [2, 1], "stride": [2, 1]},
  {"type": "dropout", "p": 0.1},
  {"type": "collapse"},
  {"type": "lstm", "name": "rnn", "input_size": 64, "hidden_size": 16, "num_layers": 1},
  {"type": "linear", "name": "fc", "in_features": 32, "out_features": 96}]})";

const char* const kTinyCharacterArpa = R"(
\data\
ngram 1=6
ngram 2=5

\1-grams:
-1.0	</s>
-99	<s>	-0.30
-0.5	a	-0.20
-0.7	b	-0.10
-1.2	<space>	0
-2.0	<unk>

\2-grams:
-0.2	<s> a
-0.4	a b
-0.3	b a
-0.6	a </s>
-0.9	b <space>

\end\
)";

TensorMap random_tensors(const Architecture& arch, unsigned seed) {
  std::mt19937 rng(seed);
  TensorMap tensors;
  for (const auto& r : arch.required_tensors()) {
    Tensor t(r.shape);
    // Fan-in scaling keeps activations O(1) through deep stacks.
    const double fan_in = r.shape.size() > 1 ? double(t.numel()) / double(r.shape[0]) : 1.0;
    std::normal_distribution<float> normal(0.0f, static_cast<float>(1.0 / std::sqrt(fan_in)));
    std::uniform_real_distribution<float> uniform(0.5f, 1.5f);
    for (float& v : t.data) {
      if (r.name.ends_with(".running_var") || (r.name.ends_with(".weight") && r.shape.size() == 1))
        v = uniform(rng);
      else if (r.shape.size() == 1)
        v = 0.2f * normal(rng) * static_cast<float>(std::sqrt(fan_in));
      else
        v = normal(rng);
    }
    tensors[r.name] = std::move(t);
  }
  return tensors;
}

std::vector<std::string> test_alphabet(int classes) {
  std::vector<std::string> a{""};
  for (int k = 1; k < classes; ++k)
    a.push_back(std::string(1, static_cast<char>('a' + (k - 1) % 26)) +
                (k > 26 ? std::to_string(k) : ""));
  return a;
}

Image random_image(int width, int height, unsigned seed) {
  std::mt19937 rng(seed);
  Image img(width, height, 240);
  std::uniform_int_distribution<int> xs(0, width - 1), ys(0, height - 1);
  for (int i = 0; i < width * height / 10; ++i)
    img.at(xs(rng), ys(rng)) = 10;
  return img;
}

std::shared_ptr<const Model> random_model(const Architecture& arch, unsigned seed) {
  Preprocessing pre;
  pre.height = arch.input_height;
  return Model::from_parts(arch, test_alphabet(arch.validate()), pre, random_tensors(arch, seed),
                           "random-model");
}

Architecture small_crnn(int height, int classes) {
  // Height after the CNN below: ceil-mode pool, padded 3/2 pool, (2,3)/(2,1) conv.
  const int h = detail::conv_out(
      detail::pool_out(detail::pool_out(height, 2, 2, 0, true), 3, 2, 1, false), 2, 2, 0);
  const std::string json = R"({"input_height": )" + std::to_string(height) + R"(, "layers": [
    {"type": "conv2d", "name": "c0", "in_channels": 1, "out_channels": 6, "kernel_size": 3, "padding": 1},
    {"type": "batchnorm2d", "name": "bn0", "num_features": 6},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2, "stride": 2, "ceil_mode": true},
    {"type": "tucker_conv", "name": "t1", "in_channels": 6, "out_channels": 10, "kernel_size": 3,
     "padding": 1, "ranks": [4, 5]},
    {"type": "batchnorm2d", "name": "bn1", "num_features": 10},
    {"type": "relu"},
    {"type": "dropout", "p": 0.1},
    {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "tucker_conv", "name": "t2", "in_channels": 10, "out_channels": 12, "kernel_size": 1,
     "ranks": [0, 4], "bias": false},
    {"type": "relu"},
    {"type": "conv2d", "name": "c3", "in_channels": 12, "out_channels": 8, "kernel_size": [2, 3],
     "stride": [2, 1], "padding": [0, 1]},
    {"type": "relu"},
    {"type": "collapse"},
    {"type": "lstm", "name": "rnn", "input_size": )" +
                           std::to_string(8 * h) +
                           R"(, "hidden_size": 7, "num_layers": 2},
    {"type": "linear", "name": "fc", "in_features": 14, "out_features": )" +
                           std::to_string(classes) + R"(}
  ]})";
  return Architecture::from_json(json);
}

LineTensor random_line(int height, int width, std::mt19937& rng) {
  LineTensor l;
  l.height = height;
  l.width = width;
  l.pixels.assign(static_cast<std::size_t>(height) * width, 0.0f);
  std::uniform_int_distribution<int> xs(0, width - 1), ys(0, height - 1);
  std::uniform_real_distribution<float> ink(0.2f, 1.0f);
  for (int i = 0; i < std::max(1, width * height / 6); ++i)
    l.pixels[static_cast<std::size_t>(ys(rng)) * width + xs(rng)] = ink(rng);
  return l;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  float m = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ocrcore-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw Error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path fixtures_dir() {
  return OCRCORE_FIXTURES_DIR;
}

std::filesystem::path shared_data_dir() {
  std::error_code ec;
  std::filesystem::path p = OCRCORE_SHARED_DATA_DIR;
  return std::filesystem::is_directory(p, ec) ? p : std::filesystem::path();
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TensorMap read_safetensors_file(const std::filesystem::path& path) {
  detail::MappedFile f(path);
  const auto view = detail::parse_safetensors(f.data(), f.size(), path.string());
  TensorMap out;
  for (const auto& [name, entry] : view.entries)
    out.emplace(name, detail::read_f32_tensor(view, name));
  return out;
}

LogProbs random_log_probs(int frames, int classes, std::mt19937& rng, float sharpness) {
  std::normal_distribution<float> n(0.0f, sharpness);
  LogProbs lp{frames, classes, std::vector<float>(static_cast<std::size_t>(frames) * classes)};
  for (int t = 0; t < frames; ++t) {
    float* f = lp.values.data() + static_cast<std::size_t>(t) * classes;
    double z = 0;
    for (int k = 0; k < classes; ++k)
      z += std::exp(f[k] = n(rng));
    for (int k = 0; k < classes; ++k)
      f[k] -= static_cast<float>(std::log(z));
  }
  return lp;
}

std::vector<int> collapse_path(const std::vector<int>& path) {
  std::vector<int> out;
  int prev = 0;
  for (int k : path) {
    if (k != 0 && k != prev) out.push_back(k);
    prev = k;
  }
  return out;
}

CtcBruteForce enumerate_ctc_paths(const LogProbs& lp) {
  CtcBruteForce bf;
  std::vector<int> path(lp.frames, 0);
  while (true) {
    double logp = 0;
    for (int t = 0; t < lp.frames; ++t)
      logp += lp.frame(t)[path[t]];
    auto l = collapse_path(path);
    bf.prob[l] += std::exp(logp);
    auto [it, added] = bf.best_path.try_emplace(l, logp);
    if (!added) it->second = std::max(it->second, logp);
    int t = 0;
    while (t < lp.frames && ++path[t] == lp.classes)
      path[t++] = 0;
    if (t == lp.frames) break;
  }
  return bf;
}

}  // namespace ocrcore::test
