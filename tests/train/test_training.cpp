// Training engine against outside references and end to end: CTC loss and
// gradient against PyTorch's ctc_loss, the training network's evaluation
// forward against the runtime's reference engine, a tiny model overfitting
// ten rendered lines, optimiser and schedule behaviour.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "layers/relu/relu.hpp"
#include "ocrcore/ocrcore.hpp"
#include "test_util.hpp"
#include "training/data/batch_loader.hpp"
#include "training/data/codec.hpp"
#include "training/data/dataset.hpp"
#include "training/data/synth.hpp"
#include "training/train/ctc_loss.hpp"
#include "training/train/layer_factory.hpp"
#include "training/train/network.hpp"
#include "training/train/optimizer.hpp"

namespace ocrcore::train {
namespace {

TEST(CtcLoss, MatchesPyTorch) {
  const TensorMap fx =
      test::read_safetensors_file(test::fixtures_dir() / "ctc_fixture.safetensors");
  const Tensor& logits_t = fx.at("logits");
  const int T = static_cast<int>(logits_t.shape[0]), N = static_cast<int>(logits_t.shape[1]),
            K = static_cast<int>(logits_t.shape[2]);
  Activations logits;
  logits.resize_sequences(T, N, K);
  logits.values = logits_t.data;
  for (int n = 0; n < N; ++n)
    logits.lengths[n] = static_cast<int>(fx.at("input_lengths").data[n]);
  logits.fill_padding(0.0f);
  std::vector<std::vector<int>> targets(N);
  const Tensor& tg = fx.at("targets");
  for (int n = 0; n < N; ++n)
    for (int j = 0; j < tg.shape[1]; ++j)
      if (tg.data[n * tg.shape[1] + j] >= 0)
        targets[n].push_back(static_cast<int>(tg.data[n * tg.shape[1] + j]));

  auto lsm = make_log_softmax();
  Activations lp, grad, dlogits;
  lsm->forward(logits, lp, Mode::training);
  const CtcLossResult r = ctc_loss(lp, targets, &grad);
  ASSERT_TRUE(r.unaligned.empty());
  for (int n = 0; n < N; ++n)
    EXPECT_NEAR(r.loss[n], fx.at("loss").data[n], 1e-4 * std::max(1.0, std::abs(r.loss[n])))
        << "line " << n;
  lsm->backward(logits, lp, grad, &dlogits);
  const Tensor& expected = fx.at("grad_logits");
  float worst = 0;
  for (int t = 0; t < T; ++t)
    for (int n = 0; n < N; ++n)
      for (int k = 0; k < K; ++k) {
        const std::size_t i = (static_cast<std::size_t>(t) * N + n) * K + k;
        // PyTorch leaves frames past a line's length at zero gradient too.
        worst = std::max(worst, std::abs(dlogits.values[i] - expected.data[i]));
      }
  EXPECT_LT(worst, 1e-5f);
}

TEST(TrainingNetwork, EvaluationForwardMatchesRuntimeReference) {
  const Architecture arch = test::small_crnn(16, 9);
  const TensorMap tensors = test::random_tensors(arch, 5);
  Network net(arch);
  net.load(tensors);
  auto model = Model::from_parts(arch, test::test_alphabet(9), Preprocessing{16}, tensors);
  RecognizerOptions o;
  o.backend = Backend::reference;
  Recognizer rec(model, o);
  std::mt19937 rng(3);
  std::vector<LineTensor> lines = {test::random_line(16, 70, rng), test::random_line(16, 41, rng),
                                   test::random_line(16, 23, rng)};
  const Activations& out = net.forward(Network::make_input(lines), Mode::evaluation);
  const auto expected = rec.forward(lines);
  for (std::size_t n = 0; n < lines.size(); ++n) {
    ASSERT_EQ(out.lengths[n], expected[n].frames) << "line " << n;
    float worst = 0;
    for (int t = 0; t < expected[n].frames; ++t)
      for (int k = 0; k < expected[n].classes; ++k)
        worst = std::max(worst,
                         std::abs(out.frame(t, static_cast<int>(n))[k] - expected[n].frame(t)[k]));
    EXPECT_LT(worst, 1e-4f) << "line " << n;
  }
}

TEST(TrainingNetwork, LoadNamesMissingAndMisShapedTensors) {
  const Architecture arch = test::small_crnn(16, 9);
  TensorMap tensors = test::random_tensors(arch, 5);
  const std::string first = tensors.begin()->first;
  tensors.erase(tensors.begin());
  tensors["rnn.weight_hh_l0"].shape = {1, 2};
  Network net(arch);
  try {
    net.load(tensors);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor " + first), std::string::npos) << e.what();
  }
}

TEST(TrainingNetwork, FrozenParametersDoNotChange) {
  const Architecture arch = test::small_crnn(16, 9);
  Network net(arch);
  net.initialize(1);
  EXPECT_GT(net.freeze({"rnn.", "fc."}), 0);
  EXPECT_THROW(net.freeze({"no_such_layer"}), Error);
  const TensorMap before = net.tensors();
  Optimizer opt({});
  std::mt19937 rng(4);
  std::vector<LineTensor> lines = {test::random_line(16, 60, rng), test::random_line(16, 50, rng)};
  for (int step = 0; step < 3; ++step) {
    net.zero_grad();
    const Activations& lp = net.forward(Network::make_input(lines), Mode::training);
    Activations grad;
    ctc_loss(lp, {{1, 2, 3}, {4, 5}}, &grad, 0.5f);
    net.backward(grad);
    opt.step(net.parameters(), 1e-2f);
  }
  const TensorMap after = net.tensors();
  int changed = 0;
  for (const auto& [name, t] : before) {
    const bool frozen = name.rfind("rnn.", 0) == 0 || name.rfind("fc.", 0) == 0;
    const bool same = t.data == after.at(name).data;
    if (frozen) EXPECT_TRUE(same) << name;
    changed += !same;
  }
  EXPECT_GT(changed, 0);
}

TEST(Optimizer, ScheduleWarmsUpAndDecays) {
  LearningRateSchedule s;
  s.base = 1.0f;
  s.warmup_steps = 10;
  s.total_steps = 110;
  s.final_ratio = 0.1f;
  EXPECT_NEAR(s.at(0), 0.1f, 1e-6);
  EXPECT_NEAR(s.at(9), 1.0f, 1e-6);
  EXPECT_NEAR(s.at(60), 0.55f, 1e-3);
  EXPECT_NEAR(s.at(110), 0.1f, 1e-6);
}

TEST(Optimizer, ClipsAndMinimisesAQuadratic) {
  for (auto kind : {OptimizerSettings::Kind::adam, OptimizerSettings::Kind::adamw,
                    OptimizerSettings::Kind::sgd}) {
    Parameter p("w", {3});
    p.value = {5.0f, -3.0f, 1.0f};
    OptimizerSettings s;
    s.kind = kind;
    s.clip_norm = 1.0f;
    Optimizer opt(s);
    for (int i = 0; i < 2000; ++i) {
      for (std::size_t j = 0; j < 3; ++j)
        p.grad[j] = 2 * p.value[j];  // d/dw of |w|^2
      opt.step({&p}, kind == OptimizerSettings::Kind::sgd ? 0.01f : 0.02f);
    }
    for (float v : p.value)
      EXPECT_NEAR(v, 0.0f, 0.05f);
  }
}

// A tiny CNN-BLSTM learns ten rendered lines by heart.
TEST(Training, TinyModelOverfitsTenLines) {
  const std::filesystem::path fonts = "/usr/share/fonts/truetype/dejavu";
  if (!std::filesystem::exists(fonts / "DejaVuSans.ttf"))
    GTEST_SKIP() << "DejaVu fonts not installed";
  test::TempDir dir;
  data::SynthSettings ss;
  ss.corpus = {std::filesystem::path(OCRCORE_FIXTURES_DIR) / "corpus.txt"};
  ss.fonts = {fonts / "DejaVuSans.ttf"};
  ss.alphabet = data::printable_ascii_alphabet();
  ss.count = 10;
  ss.height = 32;
  ss.min_chars = 5;
  ss.max_chars = 14;
  ss.degrade = 0.0;
  data::synthesize_lines(ss, dir.path());

  const data::Codec codec(ss.alphabet);
  auto lines =
      data::read_dataset({dir.path().string()}, codec, data::UnknownCharacters::skip_line, nullptr);
  ASSERT_EQ(lines.size(), 10u);
  std::vector<LineTensor> inputs;
  std::vector<std::vector<int>> targets;
  std::vector<std::string> texts;
  for (const auto& l : lines) {
    inputs.push_back(data::prepare_line(l.image, Preprocessing{16}, nullptr, 0));
    targets.push_back(l.labels);
    texts.push_back(l.text);
  }
  const Architecture arch = Architecture::from_json(R"({"input_height": 16, "layers": [
    {"type": "conv2d", "name": "c0", "in_channels": 1, "out_channels": 16, "kernel_size": 3, "padding": 1},
    {"type": "batchnorm2d", "name": "bn0", "num_features": 16}, {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2},
    {"type": "conv2d", "name": "c1", "in_channels": 16, "out_channels": 32, "kernel_size": 3, "padding": 1},
    {"type": "relu"}, {"type": "maxpool2d", "kernel_size": [2, 1], "stride": [2, 1]},
    {"type": "collapse"},
    {"type": "lstm", "name": "rnn", "input_size": 128, "hidden_size": 48, "num_layers": 1},
    {"type": "linear", "name": "fc", "in_features": 96, "out_features": 96}]})");
  Network net(arch);
  net.initialize(7);
  OptimizerSettings os;
  os.clip_norm = 10.0f;
  Optimizer opt(os);
  const auto start = std::chrono::steady_clock::now();
  double cer = 1.0;
  for (int it = 1; it <= 600 && cer > 0; ++it) {
    net.zero_grad();
    const Activations& lp = net.forward(Network::make_input(inputs), Mode::training);
    Activations grad;
    ctc_loss(lp, targets, &grad, 0.1f);
    net.backward(grad);
    opt.step(net.parameters(), 3e-3f);
    if (it % 25 == 0) {
      auto model = Model::from_parts(arch, ss.alphabet, Preprocessing{16}, net.tensors());
      Recognizer rec(model);
      cer = evaluate(rec, inputs, texts).cer();
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // The bound is the iteration budget (600), not wall time, which depends on
  // what else the machine runs; unloaded it takes a few seconds.
  std::printf("overfitted ten lines in %.1f s\n", seconds);
  EXPECT_EQ(cer, 0.0);
}

}  // namespace
}  // namespace ocrcore::train

// A kind the training registry does not know is refused with its name, not
// trained as something else; the real registry knows every kind.
TEST(TrainingNetwork, LayerRegistryRefusesAnUnknownKind) {
  ocrcore::train::TrainLayerRegistry empty;
  try {
    empty.make(ocrcore::LayerSpec(ocrcore::ReluSpec{}));
    ADD_FAILURE() << "a layer made by an empty registry";
  } catch (const ocrcore::Error& e) {
    EXPECT_EQ(e.kind(), ocrcore::ErrorKind::unsupported);
    EXPECT_NE(std::string(e.what()).find("relu"), std::string::npos) << e.what();
  }
  EXPECT_NE(ocrcore::train::train_layers().make(ocrcore::LayerSpec(ocrcore::ReluSpec{})), nullptr);
}
