#pragma once

#include <string>
#include <string_view>
#include <vector>

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
std::vector<Isa> supported_isas();

// What `automatic` resolves to: OCRCORE_ISA if set (error if this CPU cannot
// run it), else the best supported path.
Isa resolve_isa(Isa requested);

std::string_view isa_name(Isa isa);
// "auto", "generic", "avx2", "avx512"; throws Error on anything else.
Isa parse_isa(std::string_view name);

}  // namespace ocrcore
