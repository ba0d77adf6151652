// End-to-end runtime benchmark, ocrcore side. The peers (PyTorch, ONNX
// Runtime) run the same protocol on the same normalised lines, which this
// tool exports, so every figure in benchmarks/results/runtime.md compares
// like with like:
//
//   latency     batch 1, one thread: every line on its own, in file order.
//   throughput  all threads, lines sorted by width and cut into batches of
//               each size in --batches; the best batch size is reported.
//   Each figure is the median of --runs runs; peak memory is the process's
//   maximum resident set size at the end.
//
//   bench_runtime --model M.ocrm --export-lines lines.bin IMAGES...
//   bench_runtime --model M.ocrm --lines lines.bin [--backend onednn|reference]
//   bench_runtime --model M.ocrm --lines lines.bin --profile
//     milliseconds per line spent in each op of the oneDNN engine at batch 1
//     on one thread (the latency protocol), primitive creation included.
//   bench_runtime --model M.ocrm --lines lines.bin --weight-memory 8
//     bytes of prepared weights (packed, reordered, composed) the model holds
//     after 1 and after 8 Recognizers ran the lines: threads add scratch
//     memory, not weights.
//   bench_runtime --model M.ocrm --input-cost IMAGES...
//     milliseconds per line spent reading and decoding the image files, in
//     line normalisation and in the network (batch 1, one thread), each the
//     median of --runs passes over the images, side by side: what a whole
//     program pays per line besides the network; and in the CTC decoders
//     (greedy, beam, and with --lm FILE beam with that language model); and
//     for the PNG files, their decoding from memory by load_image's decoder
//     and by the plain libpng one, side by side.
//
// Prints one JSON object.

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <thread>

#include "ocrcore/ocrcore.hpp"
#include "runtime/core/file_io.hpp"
#include "runtime/engines/engine.hpp"
#include "runtime/image/png_decode.hpp"
#include "runtime/model/model_access.hpp"
#include "tool_support/line_sources.hpp"

using namespace ocrcore;

namespace {

// lines.bin: "OCRL", int32 count, int32 height, count x int32 width, then
// each line's height x width float32 pixels, row-major.
void write_lines(const std::string& path, const std::vector<LineTensor>& lines) {
  std::vector<char> bytes;
  auto put = [&](const void* p, std::size_t n) {
    bytes.insert(bytes.end(), static_cast<const char*>(p), static_cast<const char*>(p) + n);
  };
  put("OCRL", 4);
  const std::int32_t count = static_cast<std::int32_t>(lines.size());
  const std::int32_t height = lines.empty() ? 0 : lines[0].height;
  put(&count, 4);
  put(&height, 4);
  for (const auto& l : lines) {
    const std::int32_t w = l.width;
    put(&w, 4);
  }
  for (const auto& l : lines)
    put(l.pixels.data(), l.pixels.size() * sizeof(float));
  write_file_atomic(path, std::string_view(bytes.data(), bytes.size()));
}

std::vector<LineTensor> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4];
  std::int32_t count = 0, height = 0;
  if (!in.read(magic, 4) || std::string(magic, 4) != "OCRL" ||
      !in.read(reinterpret_cast<char*>(&count), 4) ||
      !in.read(reinterpret_cast<char*>(&height), 4) || count < 0 || height <= 0)
    throw Error(path + ": not a lines file written by bench_runtime --export-lines");
  std::vector<LineTensor> lines(count);
  for (auto& l : lines) {
    std::int32_t w = 0;
    if (!in.read(reinterpret_cast<char*>(&w), 4) || w <= 0) throw Error(path + ": bad width");
    l.height = height;
    l.width = w;
  }
  for (auto& l : lines) {
    l.pixels.resize(static_cast<std::size_t>(l.height) * l.width);
    if (!in.read(reinterpret_cast<char*>(l.pixels.data()),
                 static_cast<std::streamsize>(l.pixels.size() * sizeof(float))))
      throw Error(path + ": truncated");
  }
  return lines;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run(int argc, char** argv) {
  CLI::App app{"ocrcore end-to-end runtime benchmark (see benchmarks/run_runtime.sh)"};
  std::string model_path, lines_path, export_path, backend_name = "onednn";
  std::vector<std::string> images;
  std::vector<int> batches{1, 2, 4, 8, 16, 32};
  int runs = 5;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  app.add_option("--model", model_path, "model file")->required();
  app.add_option("--lines", lines_path, "normalised lines (from --export-lines) to time");
  app.add_option("--export-lines", export_path, "normalise IMAGES for the model and write them");
  app.add_option("images", images, "images to export");
  app.add_option("--backend", backend_name, "onednn or reference")
      ->check(CLI::IsMember({"onednn", "reference"}));
  app.add_option("--batches", batches, "batch sizes tried for throughput")->delimiter(',');
  app.add_option("--runs", runs, "runs per figure (median reported)")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "threads for throughput")->check(CLI::PositiveNumber);
  bool profile = false;
  app.add_flag("--profile", profile, "per-op time at batch 1, one thread, instead");
  std::string lstm_precision = "fp32";
  app.add_option("--lstm-precision", lstm_precision, "fp32 or int8 LSTMs")
      ->check(CLI::IsMember({"fp32", "int8"}));
  std::string conv_precision = "fp32";
  app.add_option("--conv-precision", conv_precision, "fp32 or int8 convolutions")
      ->check(CLI::IsMember({"fp32", "int8"}));
  int weight_memory = 0;
  app.add_option("--weight-memory", weight_memory,
                 "prepared-weight bytes with 1 and with this many Recognizers, instead")
      ->check(CLI::PositiveNumber);
  bool input_cost = false;
  app.add_flag("--input-cost", input_cost,
               "time decoding and normalising IMAGES against the network, instead");
  std::string lm_path;
  app.add_option("--lm", lm_path,
                 "with --input-cost: also time the beam decoder with this language model")
      ->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);
  const Precision precision = parse_precision(lstm_precision);
  const Precision conv = parse_precision(conv_precision);

  auto model = Model::load(model_path);
  if (input_cost) {
    const auto paths = expand_inputs(images, std::cin);
    if (paths.empty()) throw Error("--input-cost needs IMAGES");
    RecognizerOptions options;
    options.threads = 1;
    options.lstm_precision = precision;
    options.conv_precision = conv;
    Recognizer rec(model, options);
    // The CTC decoders as ocr-infer runs them (text, confidence, character
    // boxes): greedy, beam, and beam with the language model.
    RecognizerOptions beam_options = options;
    beam_options.decoder = Decoder::beam;
    Recognizer beam(model, beam_options);
    std::optional<Recognizer> beam_lm;
    if (!lm_path.empty()) {
      beam_options.language_model = LanguageModel::load(lm_path);
      beam_options.language_model_options = tuned_language_model_options(*model);
      beam_lm.emplace(model, beam_options);
    }
    std::vector<Image> decoded(paths.size());
    std::vector<LineTensor> lines(paths.size());
    std::vector<LogProbs> log_probs(paths.size());
    std::vector<double> decode, normalise, network, greedy, beam_only, beam_with_lm;
    // The PNG files' bytes, for the two PNG decoders side by side (the fast
    // one load_image uses, the plain libpng one), file reading left out.
    std::vector<std::vector<std::uint8_t>> png_bytes;
    for (const auto& p : paths) {
      const detail::MappedFile f(p);
      if (f.size() >= 8 && std::memcmp(f.data(), "\x89PNG", 4) == 0)
        png_bytes.emplace_back(f.data(), f.data() + f.size());
    }
    std::vector<double> png_fast, png_reference;
    auto time_png = [&](auto decoder) {
      const auto t0 = std::chrono::steady_clock::now();
      for (const auto& b : png_bytes)
        if (!decoder(b, "png", std::int64_t{1} << 40))
          throw Error("a PNG the fast path does not take");
      return seconds_since(t0) / static_cast<double>(png_bytes.size()) * 1e3;
    };
    auto time_decoder = [&](const Recognizer& r) {
      const auto t0 = std::chrono::steady_clock::now();
      for (const auto& lp : log_probs)
        r.decode(lp);
      return seconds_since(t0) / static_cast<double>(log_probs.size()) * 1e3;
    };
    for (int r = 0; r <= runs; ++r) {  // pass 0 warms caches and primitives
      auto t0 = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < paths.size(); ++i)
        decoded[i] = load_image(paths[i]);
      const double t_decode = seconds_since(t0);
      t0 = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < paths.size(); ++i)
        lines[i] = normalize_line(decoded[i], model->preprocessing());
      const double t_normalise = seconds_since(t0);
      t0 = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < lines.size(); ++i)
        log_probs[i] = std::move(rec.forward(std::span(&lines[i], 1)).front());
      const double t_network = seconds_since(t0);
      const double t_greedy = time_decoder(rec), t_beam = time_decoder(beam);
      const double t_beam_lm = beam_lm ? time_decoder(*beam_lm) : 0.0;
      const double t_png = png_bytes.empty() ? 0.0 : time_png(detail::decode_png_8bit);
      const double t_png_ref =
          png_bytes.empty() ? 0.0 : time_png(detail::decode_png_8bit_reference);
      if (r == 0) continue;
      png_fast.push_back(t_png);
      png_reference.push_back(t_png_ref);
      greedy.push_back(t_greedy);
      beam_only.push_back(t_beam);
      beam_with_lm.push_back(t_beam_lm);
      const double n = static_cast<double>(paths.size());
      decode.push_back(t_decode / n * 1e3);
      normalise.push_back(t_normalise / n * 1e3);
      network.push_back(t_network / n * 1e3);
    }
    nlohmann::json cost = {
        {"engine", "ocrcore-input-cost"},
        {"lines", paths.size()},
        {"runs", runs},
        {"decode_ms", median(decode)},
        {"normalise_ms", median(normalise)},
        {"network_ms", median(network)},
        {"input_to_network", (median(decode) + median(normalise)) / median(network)},
        {"ctc_greedy_ms", median(greedy)},
        {"ctc_beam_ms", median(beam_only)},
        {"beam_to_network", median(beam_only) / median(network)}};
    if (!png_bytes.empty()) {
      cost["png_files"] = png_bytes.size();
      cost["png_decode_ms"] = median(png_fast);
      cost["png_decode_libpng_ms"] = median(png_reference);
      cost["libpng_to_png_decode"] = median(png_reference) / median(png_fast);
    }
    if (beam_lm) {
      cost["ctc_beam_lm_ms"] = median(beam_with_lm);
      cost["beam_lm_to_network"] = median(beam_with_lm) / median(network);
    }
    std::printf("%s\n", cost.dump().c_str());
    return 0;
  }
  if (!export_path.empty()) {
    std::vector<LineTensor> lines;
    for (const auto& p : expand_inputs(images, std::cin))
      lines.push_back(normalize_line(load_image(p), model->preprocessing()));
    write_lines(export_path, lines);
    std::printf("{\"exported\": %zu}\n", lines.size());
    return 0;
  }
  if (lines_path.empty()) throw Error("give --lines or --export-lines");
  const auto lines = read_lines(lines_path);
  const Backend backend = backend_name == "reference" ? Backend::reference : Backend::onednn;
  const double total_pixels_w = std::accumulate(
      lines.begin(), lines.end(), 0.0, [](double s, const LineTensor& l) { return s + l.width; });

  nlohmann::json out;
  if (weight_memory > 0) {
    std::vector<Recognizer> recognizers;
    nlohmann::json bytes = nlohmann::json::object();
    for (int n = 1; n <= weight_memory; ++n) {
      recognizers.emplace_back(model);
      for (const auto& l : lines)  // every shape's primitives, so every weight layout
        recognizers.back().forward(std::span(&l, 1));
      if (n == 1 || n == weight_memory)
        bytes[std::to_string(n)] = ModelAccess::prepared_bytes(*model);
    }
    out = {{"engine", "ocrcore-weight-memory"},
           {"fp32_weight_bytes", model->parameter_count() * 4},
           {"prepared_bytes_by_recognizers", bytes}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  if (profile) {
    if (backend != Backend::onednn) throw Error("--profile times the onednn engine only");
    auto engine =
        detail::make_onednn_engine(*model, {.lstm_precision = precision, .conv_precision = conv});
    for (const auto& l : lines)  // warm-up: primitives for every line width
      engine->forward(std::span(&l, 1));
    engine->set_profiling(true);
    for (int r = 0; r < runs; ++r)
      for (const auto& l : lines)
        engine->forward(std::span(&l, 1));
    const double per_line = 1e3 / static_cast<double>(runs) / static_cast<double>(lines.size());
    nlohmann::json ops = nlohmann::json::array();
    double total = 0;
    for (const auto& op : engine->profile()) {
      ops.push_back({{"op", op.name}, {"ms_per_line", op.seconds * per_line}});
      total += op.seconds * per_line;
    }
    out = {{"engine", "ocrcore-profile"},
           {"lines", lines.size()},
           {"runs", runs},
           {"ms_per_line", total},
           {"ops", ops}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  out["engine"] = backend_name == "reference"                               ? "ocrcore-reference"
                  : precision == Precision::int8 && conv == Precision::int8 ? "ocrcore-int8"
                                                                            : "ocrcore";
  out["lstm_precision"] = lstm_precision;
  out["conv_precision"] = conv_precision;
  out["lines"] = lines.size();
  out["mean_width"] = total_pixels_w / static_cast<double>(std::max<std::size_t>(1, lines.size()));

  {  // latency: batch 1, one thread
    RecognizerOptions options;
    options.backend = backend;
    options.threads = 1;
    options.lstm_precision = precision;
    options.conv_precision = conv;
    Recognizer rec(model, options);
    for (const auto& l : lines)  // warm-up: primitives for every line width
      rec.forward(std::span(&l, 1));
    std::vector<double> per_line;
    for (int r = 0; r < runs; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      for (const auto& l : lines)
        rec.forward(std::span(&l, 1));
      per_line.push_back(seconds_since(t0) / static_cast<double>(lines.size()));
    }
    out["latency_ms"] = median(per_line) * 1e3;
  }

  {  // throughput: all threads, width-sorted batches
    std::vector<LineTensor> sorted = lines;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const LineTensor& a, const LineTensor& b) { return a.width < b.width; });
    RecognizerOptions options;
    options.backend = backend;
    options.threads = threads;
    options.lstm_precision = precision;
    options.conv_precision = conv;
    Recognizer rec(model, options);
    nlohmann::json per_batch = nlohmann::json::object();
    double best = 0;
    int best_batch = 1;
    for (int batch : batches) {
      auto pass = [&] {
        for (std::size_t i = 0; i < sorted.size(); i += batch) {
          const std::size_t n = std::min<std::size_t>(batch, sorted.size() - i);
          rec.forward(std::span(sorted.data() + i, n));
        }
      };
      pass();  // warm-up: primitives for these shapes
      std::vector<double> rates;
      for (int r = 0; r < runs; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        pass();
        rates.push_back(static_cast<double>(sorted.size()) / seconds_since(t0));
      }
      const double m = median(rates);
      per_batch[std::to_string(batch)] = m;
      if (m > best) best = m, best_batch = batch;
    }
    out["threads"] = threads;
    out["throughput_lines_per_s"] = best;
    out["best_batch"] = best_batch;
    out["throughput_by_batch"] = per_batch;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  out["peak_rss_mb"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_runtime: %s\n", e.what());
    return 1;
  }
}
