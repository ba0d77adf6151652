#include "layers/layer_tests.hpp"
#include "layers/relu/relu.hpp"
#include "layers/relu/relu_reference.hpp"

using namespace ocrcore;
using namespace ocrcore::detail;
using namespace ocrcore::layer_test;

TEST(Relu, ReferenceClipsNegativesOnly) {
  std::vector<float> v = {-2.0f, -0.0f, 0.5f, 3.0f};
  relu_reference(v);
  EXPECT_EQ(v, (std::vector<float>{0.0f, 0.0f, 0.5f, 3.0f}));
}

// A ReLU the engines cannot fuse into the layer before (a max pool) runs on
// its own.
TEST(Relu, StandaloneOnednnMatchesReference) {
  compare_engines(
      R"({"type": "conv2d", "name": "c", "in_channels": 1, "out_channels": 3, "kernel_size": 3, "padding": 1},
         {"type": "maxpool2d", "kernel_size": 2}, {"type": "relu"})",
      8, 3, 4);
}

#if OCRCORE_TEST_TRAINING
TEST(Relu, GradientsMatchFiniteDifferences) {
  using namespace ocrcore::train;
  using namespace ocrcore::train::testing;
  std::mt19937 rng(6);
  auto relu = make_layer(ReluSpec{});
  gradient_check(*relu, random_maps(2, 3, 2, 6, {6, 4}, rng), Mode::training, 1e-3f);
}
#endif
