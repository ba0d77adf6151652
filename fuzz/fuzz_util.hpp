// Shared by the libFuzzer harnesses: a scratch file for parsers that read
// paths, and the checks a parsed model must pass.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "ocrcore/ocrcore.hpp"

namespace ocrcore::fuzz {

// A harness fails loudly, so that libFuzzer records the input.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz check failed: %s\n", what.c_str());
  std::abort();
}
inline void check(bool ok, const std::string& what) {
  if (!ok) fail(what);
}
// Every refusal tells the user which input it was about.
inline void check_error_names(const std::exception& error, const std::string& name) {
  check(std::string(error.what()).find(name) != std::string::npos,
        "the error does not name " + name + ": " + error.what());
}

// One file per process, rewritten for every input (in /dev/shm when it is
// there: no disk traffic).
inline const std::filesystem::path& scratch_path(const std::string& suffix) {
  static const std::filesystem::path dir =
      std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  static const std::filesystem::path path =
      dir / ("ocrcore-fuzz-" + std::to_string(::getpid()) + suffix);
  return path;
}
inline std::filesystem::path write_scratch(const std::uint8_t* data, std::size_t size,
                                           const std::string& suffix) {
  const auto& path = scratch_path(suffix);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  check(out.good(), "cannot write " + path.string());
  return path;
}

inline bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80         ? 1
                          : (c >> 5) == 6  ? 2
                          : (c >> 4) == 14 ? 3
                          : (c >> 3) == 30 ? 4
                                           : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}

// A model that loaded must read a small line: the result is made of its
// alphabet's characters, with finite confidences in [0, 1] and character
// boxes inside the image. Errors the library names (ocrcore::Error) are
// allowed; anything else escapes and is a crash.
inline void check_model_reads_a_line(const std::shared_ptr<const Model>& model) {
  check(model != nullptr, "a loaded model is null");
  // Keep to what a small line costs: the harness is about parsing, and a
  // model of a huge input height is bounded by Preprocessing::max_width.
  Image line(96, 24, 255);
  for (int x = 10; x < 80; x += 9)
    for (int y = 6; y < 18; ++y)
      line.at(x, y) = line.at(x + 1, y) = 0;
  const std::set<std::string> alphabet(model->alphabet().begin() + 1, model->alphabet().end());
  // Greedy and beam decoding in fp32, and greedy with int8 LSTMs (the VNNI
  // kernels where this CPU has them, else the generic ones) and int8
  // convolutions where the CPU has VNNI.
  for (int run = 0; run < 3; ++run) {
    RecognizerOptions options;
    options.threads = 1;
    options.decoder = run == 1 ? Decoder::beam : Decoder::greedy;
    options.beam_width = 3;
    if (run == 2) {
      options.lstm_precision = Precision::int8;
      if (!int8_lstm_supported()) options.isa = Isa::generic;
      if (int8_conv_supported()) options.conv_precision = Precision::int8;
    }
    try {
      Recognizer recognizer(model, options);
      const LineResult r = recognizer.recognize(line);
      check(std::isfinite(r.confidence) && r.confidence >= 0 && r.confidence <= 1.0001f,
            "line confidence " + std::to_string(r.confidence));
      std::string joined;
      for (const CharResult& c : r.chars) {
        check(alphabet.count(c.text) > 0, "a character outside the alphabet: " + c.text);
        check(std::isfinite(c.confidence) && c.confidence >= 0 && c.confidence <= 1.0001f,
              "character confidence " + std::to_string(c.confidence));
        check(c.frame_begin <= c.frame_end && c.x_begin <= c.x_end && c.x_begin >= 0 &&
                  c.x_end <= line.width(),
              "character box outside the line");
        joined += c.text;
      }
      check(joined == r.text, "the characters do not spell the text");
    } catch (const Error&) {
    }
  }
}

}  // namespace ocrcore::fuzz
