#pragma once

// bfloat16: the upper 16 bits of an IEEE float (8 exponent bits, 7 mantissa
// bits), as stored in BF16 model files and used by bf16 convolutions. Rounding
// is to nearest, ties to even, as oneDNN's f32 -> bf16 conversion rounds.

#include <bit>
#include <cstdint>

namespace ocrcore::detail {

inline std::uint16_t to_bf16_bits(float x) {
  const auto bits = std::bit_cast<std::uint32_t>(x);
  if ((bits & 0x7fffffffu) > 0x7f800000u)  // NaN: keep it a (quiet) NaN
    return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  const std::uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

inline float from_bf16_bits(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

// x rounded to the nearest bfloat16 value, as a float.
inline float round_to_bf16(float x) {
  return from_bf16_bits(to_bf16_bits(x));
}

}  // namespace ocrcore::detail
