#include "layers/dropout/dropout.hpp"
#include "layers/layer_tests.hpp"

using namespace ocrcore;
using namespace ocrcore::layer_test;

// Identity at inference: the engines run the network without it.
TEST(Dropout, OnednnMatchesReference) {
  compare_engines(
      "", 6, 1, 6,
      R"({"type": "dropout", "p": 0.5}, {"type": "linear", "name": "l1", "in_features": 6, "out_features": 7})",
      7);
}

#if OCRCORE_TEST_TRAINING
TEST(Dropout, GradientsMatchFiniteDifferences) {
  using namespace ocrcore::train;
  using namespace ocrcore::train::testing;
  std::mt19937 rng(6);
  auto dropout = make_layer(DropoutSpec{0.3f});
  dropout->set_seed(42);
  gradient_check(*dropout, random_maps(2, 3, 2, 6, {6, 4}, rng), Mode::training, 1e-2f);
}
#endif
