#pragma once

#include <omp.h>

#include <algorithm>
#include <cstddef>

namespace ocrcore::train {

// Splits [0, n) into one contiguous chunk per OpenMP thread and calls
// fn(begin, end) for each. Element-wise kernels are written as plain
// functions of their chunk: inside OpenMP-outlined loop bodies GCC loses
// pointer non-aliasing and leaves them scalar and branchy.
template <typename F>
void parallel_chunks(std::size_t n, F&& fn) {
  const int threads = static_cast<int>(std::min<std::size_t>(
      static_cast<std::size_t>(omp_get_max_threads()), std::max<std::size_t>(1, n / 65536)));
  if (threads <= 1) {
    fn(std::size_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const auto t = static_cast<std::size_t>(omp_get_thread_num());
    const auto k = static_cast<std::size_t>(omp_get_num_threads());
    fn(n * t / k, n * (t + 1) / k);
  }
}

}  // namespace ocrcore::train
