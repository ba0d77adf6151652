#include "layers/layer_tests.hpp"
#include "layers/tucker_conv/tucker_conv.hpp"
#include "layers/tucker_conv/tucker_conv_reference.hpp"

using namespace ocrcore;
using namespace ocrcore::layer_test;

TEST(TuckerConv, OnednnMatchesReference) {
  for (auto [r1, r2] : {std::pair{0, 2}, std::pair{2, 3}, std::pair{3, 4}})
    for (int k : {1, 3}) {
      std::string layer =
          R"({"type": "conv2d", "name": "p", "in_channels": 1, "out_channels": 3, "kernel_size": 1},
             {"type": "tucker_conv", "name": "t", "in_channels": 3, "out_channels": 5, "kernel_size": )" +
          std::to_string(k) + R"(, "padding": )" + std::to_string(k / 2) + R"(, "ranks": )" +
          pair(r1, r2) + "}, {\"type\": \"relu\"}";
      compare_engines(layer, 7, 5, 7);
    }
}

#if OCRCORE_TEST_TRAINING
TEST(TuckerConv, GradientsMatchFiniteDifferences) {
  using namespace ocrcore::train;
  using namespace ocrcore::train::testing;
  std::mt19937 rng(2);
  for (int rank_in : {2, 0}) {
    TuckerConvSpec spec{"t", 4, 6, 3, 3, 1, 1, 1, 1, rank_in, 3, true};
    auto layer = make_layer(spec);
    randomize(*layer, rng, 0.5f);
    gradient_check(*layer, random_maps(2, 4, 5, 9, {9, 5}, rng));
  }
}
#endif
