#include "layers/collapse/collapse.hpp"
#include "layers/collapse/collapse_reference.hpp"
#include "layers/layer_tests.hpp"

using namespace ocrcore;
using namespace ocrcore::detail;
using namespace ocrcore::layer_test;

TEST(Collapse, ReferenceOrder) {
  auto in = map_from(2, 2, 3, {0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112});
  auto s = collapse_reference(in);
  ASSERT_EQ(s.frames, 3);
  ASSERT_EQ(s.features, 4);
  // frame t, feature c*H + y = map[c][y][t]
  EXPECT_EQ(std::vector<float>(s.row(1), s.row(1) + 4), (std::vector<float>{1, 11, 101, 111}));
}

TEST(Collapse, OnednnMatchesReference) {
  compare_engines(
      R"({"type": "conv2d", "name": "c", "in_channels": 1, "out_channels": 3, "kernel_size": 3})",
      5, 3, 3);
}

#if OCRCORE_TEST_TRAINING
TEST(Collapse, GradientsMatchFiniteDifferences) {
  using namespace ocrcore::train;
  using namespace ocrcore::train::testing;
  std::mt19937 rng(6);
  auto collapse = make_layer(CollapseSpec{});
  gradient_check(*collapse, random_maps(2, 3, 2, 6, {6, 4}, rng));
}
#endif
