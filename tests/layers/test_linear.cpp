#include "layers/layer_tests.hpp"
#include "layers/linear/linear.hpp"
#include "layers/linear/linear_reference.hpp"

using namespace ocrcore;
using namespace ocrcore::detail;
using namespace ocrcore::layer_test;

TEST(Linear, ReferenceMatchesTheDirectFormula) {
  LinearOp op;
  op.in_features = 2, op.out_features = 3;
  op.weight = {1, 0, 0, 1, 1, 1};
  op.bias = {0, 1, -1};
  Sequence in(1, 2);
  in.values = {2, 3};
  auto out = linear_reference(in, op);
  EXPECT_EQ(out.values, (std::vector<float>{2, 4, 4}));
}

TEST(Linear, WithReluAndDropoutInSequenceOnednnMatchesReference) {
  compare_engines("", 6, 1, 6,
                  R"({"type": "linear", "name": "l1", "in_features": 6, "out_features": 7},
             {"type": "relu"}, {"type": "dropout", "p": 0.5})",
                  7);
}

#if OCRCORE_TEST_TRAINING
TEST(Linear, GradientsMatchFiniteDifferences) {
  using namespace ocrcore::train;
  using namespace ocrcore::train::testing;
  std::mt19937 rng(9);
  auto linear = make_layer(LinearSpec{"fc", 6, 5, true});
  randomize(*linear, rng);
  gradient_check(*linear, random_sequences(4, 2, 6, {4, 2}, rng));
}
#endif
