#pragma once

namespace ocrcore::detail {

// Builds a std::visit visitor from lambdas.
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

}  // namespace ocrcore::detail
