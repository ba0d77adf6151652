#pragma once

#include "layers/layer_kind.hpp"

namespace ocrcore {

// The tensors of one layer and direction of an LSTM, under PyTorch's names
// (NAME.weight_ih_l0, NAME.weight_ih_l0_reverse, ...), gates in PyTorch's
// order i, f, g, o.
struct LstmTensorNames {
  std::string weight_ih, weight_hh, bias_ih, bias_hh;
};

struct LstmSpec {
  std::string name;
  int input_size = 0, hidden_size = 0, num_layers = 1;
  bool bidirectional = true;

  int directions() const { return bidirectional ? 2 : 1; }
  // Direction 0 forward, 1 reverse.
  LstmTensorNames tensor_names(int layer, int direction) const {
    const std::string suffix = "_l" + std::to_string(layer) + (direction ? "_reverse" : "");
    return {name + ".weight_ih" + suffix, name + ".weight_hh" + suffix, name + ".bias_ih" + suffix,
            name + ".bias_hh" + suffix};
  }
};

}  // namespace ocrcore

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
  static void lower(const LstmSpec& s, Lowering& lowering);
};

}  // namespace ocrcore::detail
