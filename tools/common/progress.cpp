#include "progress.hpp"

#include <unistd.h>

namespace ocrcore::tools {

Progress::Progress(std::size_t total, std::string unit, bool enabled,
                   std::chrono::seconds log_interval)
    : total_(total),
      unit_(std::move(unit)),
      enabled_(enabled),
      tty_(::isatty(2) != 0),
      interval_(log_interval),
      start_(Clock::now()),
      last_(start_) {}

void Progress::update(std::size_t done) {
  if (!enabled_) return;
  const auto now = Clock::now();
  const auto wait = tty_ ? std::chrono::seconds(1) : interval_;
  if (now - last_ < wait && done < total_) return;
  last_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? double(done) / secs : 0.0;
  const double eta = rate > 0 ? double(total_ - done) / rate : 0.0;
  std::fprintf(stderr, "%s[%zu/%zu] %.1f %s/s, ETA %.0f s%s", tty_ ? "\r\033[K" : "", done, total_,
               rate, unit_.c_str(), eta, tty_ ? "" : "\n");
  std::fflush(stderr);
  shown_ = true;
}

void Progress::finish() {
  if (enabled_ && tty_ && shown_) std::fprintf(stderr, "\r\033[K");
  shown_ = false;
}

}  // namespace ocrcore::tools
