#pragma once

#include "layers/layer_kind.hpp"

namespace ocrcore::detail {

template <>
struct LayerKind<LstmSpec> {
  static constexpr std::string_view type_name = "lstm";
  static LstmSpec parse(FieldReader& f);
  static void write(const LstmSpec& s, json& j);
  static void check(const LstmSpec& s, ShapeCheck& c);
  static void tensors(const LstmSpec& s, std::vector<TensorRequirement>& out);
  static std::int64_t parameters(const LstmSpec& s);
  static void count(const LstmSpec& s, WorkCount& w);
  static int output_width(const LstmSpec&, int width) { return width; }
  static int width_stride(const LstmSpec&) { return 1; }
};

}  // namespace ocrcore::detail
