#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ocrcore/export.hpp"

namespace ocrcore {

// Instruction-set path of ocrcore's own kernels (LSTM step, log-softmax,
// element-wise work). oneDNN picks its own path for convolutions and GEMMs.
enum class Isa {
  automatic,  // the best this CPU supports, unless OCRCORE_ISA names one
  generic,    // portable C++, any x86-64
  avx2,       // AVX2 + FMA
  avx512,     // AVX-512 F/DQ/BW/VL
};

// Paths this CPU (and OS) can run, generic first.
OCRCORE_API std::vector<Isa> supported_isas();

// What `automatic` resolves to: OCRCORE_ISA if set (error if this CPU cannot
// run it), else the best supported path.
OCRCORE_API Isa resolve_isa(Isa requested);

OCRCORE_API std::string_view isa_name(Isa isa);
// "auto", "generic", "avx2", "avx512"; throws Error on anything else.
OCRCORE_API Isa parse_isa(std::string_view name);

}  // namespace ocrcore
