#include "layers/layer_tests.hpp"
#include "layers/lstm/lstm.hpp"
#include "layers/lstm/lstm_reference.hpp"

using namespace ocrcore;
using namespace ocrcore::detail;
using namespace ocrcore::layer_test;

TEST(Lstm, ReferenceMatchesTheDirectFormula) {
  // One unit, one input, unidirectional: check two steps by hand.
  LstmOp op;
  op.input_size = 1, op.hidden_size = 1, op.num_layers = 1, op.bidirectional = false;
  op.layers.resize(1);
  auto& d = op.layers[0][0];
  d.w_ih = {0.5f, -0.3f, 0.8f, 0.1f};
  d.w_hh = {0.2f, 0.4f, -0.6f, 0.9f};
  d.bias = {0.1f, 0.2f, 0.0f, -0.1f};
  Sequence in(2, 1);
  in.values = {1.0f, -2.0f};
  auto out = lstm_reference(in, op);
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  double h = 0, c = 0;
  for (int t = 0; t < 2; ++t) {
    double x = in.values[t];
    double i = sig(0.5 * x + 0.2 * h + 0.1), f = sig(-0.3 * x + 0.4 * h + 0.2);
    double g = std::tanh(0.8 * x - 0.6 * h), o = sig(0.1 * x + 0.9 * h - 0.1);
    c = f * c + i * g;
    h = o * std::tanh(c);
    EXPECT_NEAR(out.values[t], h, 1e-6) << t;
  }
}

TEST_F(TorchLayers, LstmMatchesPyTorch) {
  LstmOp op;
  op.input_size = 5, op.hidden_size = 4, op.num_layers = 1, op.bidirectional = true;
  op.layers.resize(1);
  for (int d = 0; d < 2; ++d) {
    std::string sfx = d ? "_l0_reverse" : "_l0";
    auto& dir = op.layers[0][d];
    dir.w_ih = get("lstm.weight_ih" + sfx).data;
    dir.w_hh = get("lstm.weight_hh" + sfx).data;
    dir.bias = get("lstm.bias_ih" + sfx).data;
    auto bhh = get("lstm.bias_hh" + sfx).data;
    for (std::size_t i = 0; i < bhh.size(); ++i)
      dir.bias[i] += bhh[i];
  }
  Tensor x = get("lstm.input"), y = get("lstm.output");
  Sequence in(6, 5);
  in.values = x.data;
  auto out = lstm_reference(in, op);
  EXPECT_LE(test::max_abs_diff(out.values, y.data), 1e-5f);
}

TEST(Lstm, OnednnMatchesReference) {
  for (bool bidirectional : {false, true})
    for (int layers : {1, 2, 3}) {
      const int out = bidirectional ? 12 : 6;
      std::string lstm = R"({"type": "lstm", "name": "r", "input_size": 8, "hidden_size": 6,
                              "num_layers": )" +
                         std::to_string(layers) + R"(, "bidirectional": )" +
                         (bidirectional ? "true" : "false") + "}";
      compare_engines(
          R"({"type": "conv2d", "name": "c", "in_channels": 1, "out_channels": 2, "kernel_size": 3,
                  "padding": 1})",
          4, 2, 4, lstm, out);
    }
}

#if OCRCORE_TEST_TRAINING
TEST(Lstm, GradientsMatchFiniteDifferences) {
  using namespace ocrcore::train;
  using namespace ocrcore::train::testing;
  std::mt19937 rng(8);
  for (auto [layers, bidi] : {std::pair{1, true}, std::pair{2, true}, std::pair{2, false}}) {
    auto lstm = make_layer(LstmSpec{"rnn", 5, 4, layers, bidi});
    randomize(*lstm, rng, 0.5f);
    auto c =
        gradient_check(*lstm, random_sequences(7, 3, 5, {7, 4, 1}, rng), Mode::training, 1e-2f, 30);
    EXPECT_LT(c.worst, 2e-2);
  }
}
#endif
