#pragma once

namespace ocrcore::detail {

// Builds a std::visit visitor from lambdas.
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
// C++20 deduces this for aggregates; clang before 17 (the fuzzing build) needs
// the guide.
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace ocrcore::detail
