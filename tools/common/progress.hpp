#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace ocrcore::tools {

// Progress of a long job on stderr: done/total, rate and ETA. On a terminal
// the line is rewritten in place about once a second; otherwise a line is
// printed every `log_interval` so logs stay short.
class Progress {
 public:
  Progress(std::size_t total, std::string unit, bool enabled,
           std::chrono::seconds log_interval = std::chrono::seconds(10));
  void update(std::size_t done);
  // Clears the in-place line (terminal) before other output or at the end.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  std::size_t total_;
  std::string unit_;
  bool enabled_, tty_;
  std::chrono::seconds interval_;
  Clock::time_point start_, last_;
  bool shown_ = false;
};

}  // namespace ocrcore::tools
