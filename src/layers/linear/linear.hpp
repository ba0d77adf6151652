#pragma once

#include "layers/layer_kind.hpp"

namespace ocrcore {

struct LinearSpec {
  std::string name;
  int in_features = 0, out_features = 0;
  bool bias = true;
};

}  // namespace ocrcore

namespace ocrcore::detail {

template <>
struct LayerKind<LinearSpec> {
  static constexpr std::string_view type_name = "linear";
  static LinearSpec parse(FieldReader& f);
  static void write(const LinearSpec& s, json& j);
  static void check(const LinearSpec& s, ShapeCheck& c);
  static void tensors(const LinearSpec& s, std::vector<TensorRequirement>& out);
  static std::int64_t parameters(const LinearSpec& s) {
    return std::int64_t{s.out_features} * s.in_features + (s.bias ? s.out_features : 0);
  }
  static void count(const LinearSpec& s, WorkCount& w) {
    w.madds += double(w.width) * s.in_features * s.out_features;
  }
  static int output_width(const LinearSpec&, int width) { return width; }
  static int width_stride(const LinearSpec&) { return 1; }
  static void lower(const LinearSpec& s, Lowering& lowering);
};

}  // namespace ocrcore::detail
