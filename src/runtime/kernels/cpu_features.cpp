#include <cstdlib>

#include "ocrcore/cpu.hpp"
#include "ocrcore/error.hpp"
#include "runtime/kernels/kernels.hpp"

namespace ocrcore {

namespace {

// GCC's CPU probe also checks that the OS saves the AVX/AVX-512 registers.
bool cpu_has(Isa isa) {
  switch (isa) {
    case Isa::automatic:
    case Isa::generic:
      return true;
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("fma");
  }
  return false;
}

}  // namespace

bool detail::kernels::cpu_has_avx512_vnni() {
  return cpu_has(Isa::avx512) && __builtin_cpu_supports("avx512vnni");
}

bool detail::kernels::cpu_has_avx512_bf16() {
  return cpu_has(Isa::avx512) && __builtin_cpu_supports("avx512bf16");
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512})
    if (cpu_has(isa)) out.push_back(isa);
  return out;
}

Isa resolve_isa(Isa requested) {
  if (requested == Isa::automatic) {
    const char* env = std::getenv("OCRCORE_ISA");
    if (env && *env) requested = parse_isa(env);
  }
  if (requested == Isa::automatic) return supported_isas().back();
  if (!cpu_has(requested))
    throw Error(
        "kernel path '" + std::string(isa_name(requested)) +
            "' needs instructions this CPU does not have (supported: " +
            [] {
              std::string s;
              for (Isa i : supported_isas())
                s += (s.empty() ? "" : ", ") + std::string(isa_name(i));
              return s;
            }() +
            ")",
        ErrorKind::unsupported);
  return requested;
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::automatic:
      return "auto";
    case Isa::generic:
      return "generic";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
  }
  return "?";
}

Isa parse_isa(std::string_view name) {
  for (Isa isa : {Isa::automatic, Isa::generic, Isa::avx2, Isa::avx512})
    if (name == isa_name(isa)) return isa;
  throw Error("unknown kernel path '" + std::string(name) +
              "' (expected auto, generic, avx2 or avx512; from --isa or OCRCORE_ISA)");
}

}  // namespace ocrcore
