// The oneDNN engine allocates nothing in the steady state but its results:
// once a batch shape has been seen, forward() makes exactly one allocation
// for the result vector and one per line's log-probabilities. Counted by
// replacing the global operator new, hence an executable of its own.
// oneDNN 2.6 itself builds a small argument map inside every primitive
// execution (not avoidable through its API); allocations made from libdnnl
// are counted apart and only checked not to grow.

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "test_util.hpp"

namespace {
std::atomic<long> g_allocations{0};  // by ocrcore (and the test)
std::atomic<long> g_onednn{0};       // by code inside libdnnl

bool called_from_onednn(void* return_address) {
  Dl_info info;
  return dladdr(return_address, &info) != 0 && info.dli_fname &&
         std::strstr(info.dli_fname, "libdnnl") != nullptr;
}
}  // namespace

void* operator new(std::size_t n) {
  if (called_from_onednn(__builtin_return_address(0)))
    g_onednn.fetch_add(1, std::memory_order_relaxed);
  else
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

using namespace ocrcore;
using namespace ocrcore::test;

TEST(SteadyState, ForwardAllocatesOnlyItsResults) {
  for (Isa isa : supported_isas())
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::string(isa_name(isa)) + ", threads " + std::to_string(threads));
      auto model = random_model(small_crnn(32, 11), 3);
      Recognizer rec(
          model,
          {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = threads, .isa = isa});
      std::mt19937 rng(5);
      std::vector<LineTensor> batch_a, batch_b;
      for (int w : {200, 37, 120})
        batch_a.push_back(random_line(32, w, rng));
      batch_b.push_back(random_line(32, 90, rng));
      // Warm-up: both shapes build their primitives, and the sequence buffers
      // (which swap roles from layer to layer) reach their largest sizes.
      for (int i = 0; i < 3; ++i) {
        rec.forward(batch_a);
        rec.forward(batch_b);
      }
      long onednn_first = -1;
      for (int round = 0; round < 3; ++round) {
        const long before = g_allocations.load(), onednn_before = g_onednn.load();
        auto out = rec.forward(batch_a);
        EXPECT_EQ(g_allocations.load() - before, static_cast<long>(batch_a.size()) + 1);
        const long onednn = g_onednn.load() - onednn_before;
        if (onednn_first < 0) onednn_first = onednn;
        EXPECT_EQ(onednn, onednn_first) << "oneDNN's allocations grow from call to call";
        const long before_b = g_allocations.load();
        auto out_b = rec.forward(batch_b);
        EXPECT_EQ(g_allocations.load() - before_b, static_cast<long>(batch_b.size()) + 1);
      }
    }
}
