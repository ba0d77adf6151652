#pragma once

#include <array>
#include <string>
#include <vector>

#include "runtime/graph/compiled_network.hpp"

namespace ocrcore::detail {

struct LstmDirection {
  std::vector<float> w_ih;           // [4N][input], gates i, f, g, o
  std::vector<float> w_hh;           // [4N][N]
  std::vector<float> bias;           // b_ih + b_hh, [4N]
  std::string w_ih_name, w_hh_name;  // the model's tensors (int8 files store them as I8)
};

struct LstmOp final : Op {
  int input_size = 0, hidden_size = 0, num_layers = 1;
  bool bidirectional = true;
  // layers[l][d]: d = 0 forward, 1 backward.
  std::vector<std::array<LstmDirection, 2>> layers;
  int directions() const { return bidirectional ? 2 : 1; }
  int layer_input(int l) const { return l == 0 ? input_size : hidden_size * directions(); }

  std::string describe() const override;
  void reference(ReferenceValue& value, const ReferenceArithmetic& arithmetic) const override;
  // Both matrices of every layer and direction (the int8 LSTM runs them all).
  void int8_stored_tensors(bool, std::vector<std::string>& names) const override {
    for (const auto& layer : layers)
      for (int d = 0; d < directions(); ++d) {
        names.push_back(layer[d].w_ih_name);
        names.push_back(layer[d].w_hh_name);
      }
  }
};

}  // namespace ocrcore::detail
