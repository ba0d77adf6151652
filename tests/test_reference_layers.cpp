// The reference log-softmax, the network's last step (each layer kind's
// reference is tested in tests/layers/test_<kind>.cpp).

#include <gtest/gtest.h>

#include <cmath>

#include "runtime/engines/reference/log_softmax_reference.hpp"

using namespace ocrcore::detail;

TEST(ReferenceLayers, LogSoftmaxMatchesTheDirectFormula) {
  Sequence s(1, 3);
  s.values = {2, 4, 4};
  log_softmax_reference(s);
  double z = std::log(std::exp(2.0) + 2 * std::exp(4.0));
  EXPECT_NEAR(s.values[0], 2 - z, 1e-6);
  EXPECT_NEAR(s.values[1], 4 - z, 1e-6);
}

TEST(ReferenceLayers, LogSoftmaxStaysNormalisedForHugeLogits) {
  Sequence s(1, 3);
  s.values = {1e10f, 1e10f, -1e10f};
  log_softmax_reference(s);
  EXPECT_NEAR(s.values[0], -std::log(2.0), 1e-6);
  EXPECT_NEAR(s.values[1], -std::log(2.0), 1e-6);
}
