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
  dropout->set_seed(42, {});
  gradient_check(*dropout, random_maps(2, 3, 2, 6, {6, 4}, rng), Mode::training, 1e-2f);
}

// A line's mask depends on its key and the value's place in the line, not on
// the batch around it: the same line alone (another padding) or second in
// another batch (another rank's share of a data-parallel step) is dropped
// alike.
TEST(Dropout, MaskFollowsTheLineNotItsPlaceInTheBatch) {
  using namespace ocrcore::train;
  using namespace ocrcore::train::testing;
  std::mt19937 rng(7);
  auto dropout = make_layer(DropoutSpec{0.5f});
  Activations both = random_maps(2, 3, 2, 6, {6, 4}, rng), out_both, out_alone;
  const std::uint64_t keys[2] = {11, 42};
  dropout->set_seed(9, keys);
  dropout->forward(both, out_both, Mode::training);
  // Line 1 (key 42) alone, padded to 5 columns instead of 6.
  Activations alone;
  alone.resize_maps(1, 3, 2, 5);
  alone.lengths = {4};
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 4; ++x)
      for (int c = 0; c < 3; ++c)
        alone.map_row(0, y)[x * 3 + c] = both.map_row(1, y)[x * 3 + c];
  const std::uint64_t key[1] = {42};
  dropout->set_seed(9, key);
  dropout->forward(alone, out_alone, Mode::training);
  int dropped = 0;
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 4; ++x)
      for (int c = 0; c < 3; ++c) {
        EXPECT_EQ(out_alone.map_row(0, y)[x * 3 + c], out_both.map_row(1, y)[x * 3 + c])
            << y << "," << x << "," << c;
        dropped += out_both.map_row(1, y)[x * 3 + c] == 0.0f;
      }
  EXPECT_GT(dropped, 3);
  EXPECT_LT(dropped, 21);
  // Another key, another mask.
  const std::uint64_t other[1] = {43};
  dropout->set_seed(9, other);
  dropout->forward(alone, out_alone, Mode::training);
  int differ = 0;
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 4; ++x)
      for (int c = 0; c < 3; ++c)
        differ += out_alone.map_row(0, y)[x * 3 + c] != out_both.map_row(1, y)[x * 3 + c];
  EXPECT_GT(differ, 0);
}
#endif
