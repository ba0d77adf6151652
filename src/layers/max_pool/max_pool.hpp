#pragma once

#include "layers/layer_kind.hpp"
#include "runtime/graph/shapes.hpp"

namespace ocrcore {

struct MaxPoolSpec {
  int kernel_h = 2, kernel_w = 2;
  int stride_h = 2, stride_w = 2;
  int pad_h = 0, pad_w = 0;
  bool ceil_mode = false;
};

}  // namespace ocrcore

namespace ocrcore::detail {

template <>
struct LayerKind<MaxPoolSpec> : ElementwiseLayerKind {
  static constexpr std::string_view type_name = "maxpool2d";
  static MaxPoolSpec parse(FieldReader& f);
  static void write(const MaxPoolSpec& s, json& j);
  static void check(const MaxPoolSpec& s, ShapeCheck& c) {
    c.need_feature_map();
    c.shape.height = pool_out(c.shape.height, s.kernel_h, s.stride_h, s.pad_h, s.ceil_mode);
  }
  static void count(const MaxPoolSpec& s, WorkCount& w) {
    w.height = pool_out(w.height, s.kernel_h, s.stride_h, s.pad_h, s.ceil_mode);
    w.width = output_width(s, w.width);
  }
  static int output_width(const MaxPoolSpec& s, int width) {
    return pool_out(width, s.kernel_w, s.stride_w, s.pad_w, s.ceil_mode);
  }
  static int width_stride(const MaxPoolSpec& s) { return s.stride_w; }
  static void lower(const MaxPoolSpec& s, Lowering& lowering);
};

}  // namespace ocrcore::detail
