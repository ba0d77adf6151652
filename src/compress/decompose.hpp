#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "compress/tucker.hpp"
#include "ocrcore/architecture.hpp"
#include "ocrcore/tensor.hpp"

namespace ocrcore::compress {

// How ranks are chosen (`--ranks`):
//   energy:F        per mode, the smallest rank keeping fraction F of the energy
//   vbmf            per mode, EVBMF on the unfolding
//   fixed:R1,R2     the same ranks for every layer (clamped to the layer's sizes)
//   budget:flops=F  one energy threshold for all layers, the largest whose
//   budget:params=F   decomposed convolutions cost at most F x the originals
// plus per-layer overrides `LAYER=R1,R2` (comma-separated list after ';').
struct RankRule {
  enum class Kind { energy, vbmf, fixed, budget_flops, budget_params };
  Kind kind = Kind::energy;
  double value = 0.95;
  int rank_in = 0, rank_out = 0;
  std::map<std::string, std::pair<int, int>> overrides;
};
RankRule parse_rank_rule(const std::string& text);

// What happened to one convolution.
struct LayerDecomposition {
  std::string name;
  std::string method;  // "tucker2", "tucker1", "svd" or "kept"
  int in_channels = 0, out_channels = 0, kernel_h = 0, kernel_w = 0;
  int rank_in = 0, rank_out = 0;
  std::int64_t params_before = 0, params_after = 0;
  double flops_before = 0, flops_after = 0;  // per line of input_height x 512
  double relative_error = 0;                 // of the kernel
  ModeSpectra spectra;                       // what the ranks were chosen from
};

struct DecomposedModel {
  Architecture architecture;
  TensorMap tensors;
  std::vector<LayerDecomposition> layers;
};

// Decomposes every conv2d layer of the network (batch norms stay as they
// are); a layer is kept when its decomposition would not save multiply-adds.
DecomposedModel decompose_model(const Architecture& architecture, const TensorMap& tensors,
                                const RankRule& rule, int hooi_iterations = 0);

// Output positions (height x width) of every layer for a line of
// input_height x `width`, index-aligned with architecture.layers.
std::vector<std::pair<int, int>> layer_output_sizes(const Architecture& architecture, int width);

}  // namespace ocrcore::compress
