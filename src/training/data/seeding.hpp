#pragma once

#include <cstdint>

namespace ocrcore::data {

// splitmix64's finaliser: a well-mixed 64-bit hash. Randomness derived from
// (seed, position) this way is counter-based: the same inputs give the same
// draws whatever the thread count or how often a run was resumed.
inline std::uint64_t mix_bits(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A seed for item `b` of stream `a` under the run's seed.
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0) {
  return mix_bits(mix_bits(mix_bits(seed) ^ a) ^ b);
}

}  // namespace ocrcore::data
