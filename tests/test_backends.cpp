// The oneDNN backend against the reference on random models and lines, and
// batch invariance: a line's output does not depend on its batch.

#include <gtest/gtest.h>

#include "layers/max_pool/max_pool_op.hpp"
#include "layers/tucker_conv/tucker_conv_op.hpp"
#include "runtime/engines/engine.hpp"
#include "runtime/engines/onednn/onednn_batch.hpp"
#include "runtime/engines/onednn/prepared_network.hpp"
#include "runtime/engines/onednn/shape_planner.hpp"
#include "runtime/engines/onednn/tuning.hpp"
#include "runtime/graph/passes.hpp"
#include "runtime/graph/quantization.hpp"
#include "runtime/model/model_access.hpp"
#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::test;

namespace {

// No batch norm, unidirectional LSTM, a standalone ReLU in the sequence part.
Architecture plain_arch() {
  return Architecture::from_json(R"({"input_height": 12, "layers": [
    {"type": "conv2d", "name": "c0", "in_channels": 1, "out_channels": 5, "kernel_size": [5, 3],
     "padding": [2, 1], "bias": false},
    {"type": "maxpool2d", "kernel_size": [3, 2], "stride": [3, 2]},
    {"type": "conv2d", "name": "c1", "in_channels": 5, "out_channels": 4, "kernel_size": 3,
     "stride": [1, 2], "padding": 1},
    {"type": "relu"},
    {"type": "collapse"},
    {"type": "lstm", "name": "r", "input_size": 16, "hidden_size": 6, "num_layers": 1,
     "bidirectional": false},
    {"type": "relu"},
    {"type": "linear", "name": "fc", "in_features": 6, "out_features": 5}
  ]})");
}

// Frames of `b` whose best class is `a`'s (`frames` counts them all).
int same_best_class(const LogProbs& a, const LogProbs& b, int& frames) {
  int same = 0;
  for (int t = 0; t < a.frames; ++t, ++frames) {
    const float* x = a.frame(t);
    const float* y = b.frame(t);
    same += std::max_element(x, x + a.classes) - x == std::max_element(y, y + a.classes) - y;
  }
  return same;
}

std::vector<LineTensor> random_lines(int height, const std::vector<int>& widths, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<LineTensor> lines;
  for (int w : widths)
    lines.push_back(random_line(height, w, rng));
  return lines;
}

// Channel counts that fill (and overhang) vector registers and oneDNN's
// channel blocks, a hidden size with a vector tail on every path, Tucker
// layers, batch norm.
Architecture wide_arch(int hidden) {
  return Architecture::from_json(R"({"input_height": 16, "layers": [
    {"type": "conv2d", "name": "c0", "in_channels": 1, "out_channels": 16, "kernel_size": 3,
     "padding": 1},
    {"type": "batchnorm2d", "name": "bn0", "num_features": 16},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2, "stride": 2},
    {"type": "conv2d", "name": "c1", "in_channels": 16, "out_channels": 40, "kernel_size": 3,
     "padding": 1},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": [2, 1], "stride": [2, 1]},
    {"type": "tucker_conv", "name": "t2", "in_channels": 40, "out_channels": 32, "kernel_size": 3,
     "padding": 1, "ranks": [11, 19]},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": [2, 1], "stride": [2, 1]},
    {"type": "collapse"},
    {"type": "lstm", "name": "rnn", "input_size": 64, "hidden_size": )" +
                                 std::to_string(hidden) + R"(, "num_layers": 2},
    {"type": "linear", "name": "fc", "in_features": )" +
                                 std::to_string(2 * hidden) + R"(, "out_features": 37}
  ]})");
}

// 3x3 convolutions the engine may run as Winograd: 32 channels and more at
// heights 8 and 4 (channel counts off oneDNN's 16-channel blocks included),
// and one at height 2, where the automatic choice is direct.
Architecture winograd_arch() {
  return Architecture::from_json(R"({"input_height": 16, "layers": [
    {"type": "conv2d", "name": "c0", "in_channels": 1, "out_channels": 16, "kernel_size": 3,
     "padding": 1},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2, "stride": 2},
    {"type": "conv2d", "name": "c1", "in_channels": 16, "out_channels": 48, "kernel_size": 3,
     "padding": 1},
    {"type": "relu"},
    {"type": "conv2d", "name": "c2", "in_channels": 48, "out_channels": 40, "kernel_size": 3,
     "padding": 1},
    {"type": "batchnorm2d", "name": "bn2", "num_features": 40},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": [2, 1], "stride": [2, 1]},
    {"type": "conv2d", "name": "c3", "in_channels": 40, "out_channels": 64, "kernel_size": 3,
     "padding": 1},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": [2, 1], "stride": [2, 1]},
    {"type": "conv2d", "name": "c4", "in_channels": 64, "out_channels": 32, "kernel_size": 3,
     "padding": 1},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": [2, 1], "stride": [2, 1]},
    {"type": "collapse"},
    {"type": "lstm", "name": "rnn", "input_size": 32, "hidden_size": 16, "num_layers": 1},
    {"type": "linear", "name": "fc", "in_features": 32, "out_features": 11}
  ]})");
}

// A first layer the engine runs on its own kernel (3x3 over the one-channel
// input, folded 2x2 pool) or, with ceil-mode pooling, only the convolution
// on it and the pool on oneDNN.
Architecture image_conv_arch(int channels, bool ceil_mode, bool relu) {
  const std::string c = std::to_string(channels);
  return Architecture::from_json(
      R"({"input_height": 20, "layers": [
    {"type": "conv2d", "name": "c0", "in_channels": 1, "out_channels": )" +
      c + R"(, "kernel_size": 3, "padding": 1},)" + (relu ? R"({"type": "relu"},)" : "") +
      R"({"type": "maxpool2d", "kernel_size": 2, "stride": 2, "ceil_mode": )" +
      (ceil_mode ? "true" : "false") + R"(},
    {"type": "conv2d", "name": "c1", "in_channels": )" +
      c +
      R"(, "out_channels": 8, "kernel_size": [10, 3], "padding": [0, 1]},
    {"type": "relu"},
    {"type": "collapse"},
    {"type": "lstm", "name": "rnn", "input_size": 8, "hidden_size": 8, "num_layers": 1},
    {"type": "linear", "name": "fc", "in_features": 16, "out_features": 7}
  ]})");
}

// Tucker layers the engine composes back into one convolution under
// OCRCORE_TUCKER=auto (a Tucker-1 first layer; few channels) and one it keeps
// as a chain (more channels, ranks far below them).
Architecture tucker_arch() {
  return Architecture::from_json(R"({"input_height": 16, "layers": [
    {"type": "tucker_conv", "name": "t0", "in_channels": 1, "out_channels": 16, "kernel_size": 3,
     "padding": 1, "ranks": [0, 3]},
    {"type": "batchnorm2d", "name": "bn0", "num_features": 16},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2, "stride": 2},
    {"type": "tucker_conv", "name": "t1", "in_channels": 16, "out_channels": 24, "kernel_size": 3,
     "padding": 1, "ranks": [14, 20]},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": [2, 1], "stride": [2, 1]},
    {"type": "tucker_conv", "name": "t2", "in_channels": 24, "out_channels": 48, "kernel_size": [1, 3],
     "padding": [0, 1], "ranks": [5, 6]},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": [4, 1], "stride": [4, 1]},
    {"type": "collapse"},
    {"type": "lstm", "name": "rnn", "input_size": 48, "hidden_size": 16, "num_layers": 1},
    {"type": "linear", "name": "fc", "in_features": 32, "out_features": 9}
  ]})");
}

void compare_backends(const Architecture& arch, unsigned seed,
                      ConvAlgorithm conv = ConvAlgorithm::automatic,
                      TuckerExecution tucker = TuckerExecution::automatic) {
  auto model = random_model(arch, seed);
  Recognizer ref(model, {.decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1});
  auto lines = random_lines(arch.input_height, {1, 3, 17, 64, 65, 130, 257, 9}, seed);
  auto a = ref.forward(lines);
  // Every kernel path this CPU can run, one and two threads.
  for (Isa isa : supported_isas())
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::string(isa_name(isa)) + ", threads " + std::to_string(threads));
      RecognizerOptions options{
          .decoder = Decoder::greedy, .backend = Backend::onednn, .threads = threads, .isa = isa};
      options.conv_algorithm = conv;
      options.tucker = tucker;
      Recognizer fast(model, options);
      auto b = fast.forward(lines);
      ASSERT_EQ(a.size(), b.size());
      for (std::size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(a[i].frames, b[i].frames) << "line " << i;
        ASSERT_EQ(a[i].frames, std::max(1, arch.frames_for_width(lines[i].width))) << "line " << i;
        EXPECT_LE(max_abs_diff(a[i].values, b[i].values), 1e-4f)
            << "line " << i << " width " << lines[i].width;
      }
    }
}

}  // namespace

TEST(Backends, OnednnMatchesReferenceSmallCrnn) {
  for (int height : {16, 20, 32})
    compare_backends(small_crnn(height, 9), 100u + height);
}

TEST(Backends, OnednnMatchesReferencePlainArch) {
  compare_backends(plain_arch(), 5);
}

TEST(Backends, OnednnMatchesReferenceWideLayers) {
  for (int hidden : {24, 64})
    compare_backends(wide_arch(hidden), 200u + hidden);
}

// Chains of maps-to-maps steps (a Tucker layer's factors, the image layer's
// oneDNN fallback and its pool): each step reads what the one before wrote,
// never the buffer it writes, the first reads maps_in and the last writes
// maps_out, for chains of odd and even length.
TEST(Backends, RunInSequenceChainsStepsIntoTheOutput) {
  namespace dnn = detail::onednn;
  struct Step final : dnn::OpExecutor {
    explicit Step(float m) : mark(m) {}
    dnn::Dataflow dataflow() const override { return dnn::Dataflow::maps_to_maps; }
    void run(dnn::Context&, const dnn::OpData& d) override {
      ASSERT_NE(d.maps_in, d.maps_out);
      d.maps_out->values = d.maps_in->values;
      d.maps_out->values.push_back(mark);
    }
    std::string name() const override { return "step"; }
    float mark;
  };
  struct InPlace final : dnn::OpExecutor {
    dnn::Dataflow dataflow() const override { return dnn::Dataflow::maps_in_place; }
    void run(dnn::Context&, const dnn::OpData&) override {}
    std::string name() const override { return "in place"; }
  };
  auto model = random_model(small_crnn(16, 9), 3);
  auto prepared =
      detail::prepared_network(*model, resolve_isa(Isa::automatic), TuckerExecution::automatic,
                               Precision::fp32, Precision::fp32);
  dnn::Context context(*prepared, 1, ConvAlgorithm::automatic);
  for (int n = 1; n <= 4; ++n) {
    SCOPED_TRACE(std::to_string(n) + " steps");
    std::vector<Step> steps;
    for (int k = 0; k < n; ++k)
      steps.emplace_back(static_cast<float>(k));
    std::vector<dnn::OpExecutor*> chain;
    for (auto& step : steps)
      chain.push_back(&step);
    dnn::FeatureMaps in, out, scratch;
    in.values = {-1.0f};
    dnn::run_in_sequence(context, chain, {&in, &out, nullptr}, scratch);
    std::vector<float> want = {-1.0f};
    for (int k = 0; k < n; ++k)
      want.push_back(static_cast<float>(k));
    EXPECT_EQ(out.values, want);
  }
  InPlace in_place;
  std::vector<dnn::OpExecutor*> wrong = {&in_place};
  dnn::FeatureMaps in, out, scratch;
  try {
    dnn::run_in_sequence(context, wrong, {&in, &out, nullptr}, scratch);
    ADD_FAILURE() << "a step that is not maps-to-maps ran in a chain";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::internal);
  }
}

TEST(Backends, OnednnMatchesReferenceImageConv) {
  for (int channels : {8, 24, 32})
    for (bool ceil_mode : {false, true})
      for (bool relu : {false, true}) {
        SCOPED_TRACE("channels " + std::to_string(channels) + (ceil_mode ? " ceil" : "") +
                     (relu ? " relu" : ""));
        compare_backends(image_conv_arch(channels, ceil_mode, relu), 300u + channels);
      }
}

TEST(Backends, OnednnMatchesReferenceTuckerChainsAndComposed) {
  for (const char* mode : {"auto", "chain", "composed"}) {
    SCOPED_TRACE(std::string("tucker ") + mode);
    compare_backends(tucker_arch(), 400, ConvAlgorithm::automatic, parse_tucker_execution(mode));
  }
  EXPECT_THROW(parse_tucker_execution("fused"), Error);
}

TEST(Backends, OnednnMatchesReferenceDirectAndWinograd) {
  for (const char* mode : {"auto", "direct", "winograd"}) {
    SCOPED_TRACE(std::string("conv ") + mode);
    compare_backends(winograd_arch(), 500, parse_conv_algorithm(mode));
  }
  // Winograd rounds differently: if the outputs were bit-identical, the
  // forced setting would not have reached oneDNN.
  auto model = random_model(winograd_arch(), 501);
  auto lines = random_lines(16, {70, 33}, 502);
  auto run = [&](ConvAlgorithm conv) {
    RecognizerOptions options{.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1};
    options.conv_algorithm = conv;
    return Recognizer(model, options).forward(lines);
  };
  const auto direct = run(ConvAlgorithm::direct), winograd = run(ConvAlgorithm::winograd);
  EXPECT_GT(max_abs_diff(direct[0].values, winograd[0].values), 0.0f);
  EXPECT_THROW(parse_conv_algorithm("fft"), Error);
}

// Weights are prepared once per model and settings and shared: more
// Recognizers on one model add scratch memory, never weights.
TEST(Backends, PreparedWeightsDoNotGrowWithRecognizers) {
  for (const Architecture& arch : {tucker_arch(), winograd_arch()}) {
    auto model = random_model(arch, 31);
    auto lines = random_lines(arch.input_height, {90, 33, 250}, 32);
    Recognizer reference(model,
                         {.decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1});
    reference.forward(lines);
    EXPECT_EQ(ModelAccess::prepared_bytes(*model), 0u) << "the reference backend prepares nothing";

    const RecognizerOptions options{
        .decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1};
    Recognizer first(model, options);
    const auto want = first.forward(lines);
    const std::size_t one = ModelAccess::prepared_bytes(*model);
    // At least the LSTM's packed recurrent matrices and the convolutions
    // oneDNN runs, reordered.
    EXPECT_GT(one, 4u * 4 * 16 * 16);
    std::vector<Recognizer> more;
    for (int i = 0; i < 7; ++i) {
      more.emplace_back(model, options);
      const auto got = more.back().forward(lines);
      for (std::size_t l = 0; l < lines.size(); ++l)
        EXPECT_EQ(got[l].values, want[l].values) << "recognizer " << i + 1 << ", line " << l;
    }
    EXPECT_EQ(ModelAccess::prepared_bytes(*model), one) << "with 8 Recognizers";
    // Other settings are another prepared form, kept beside the first.
    RecognizerOptions chain = options;
    chain.tucker = TuckerExecution::chain;
    Recognizer(model, chain).forward(lines);
    EXPECT_GT(ModelAccess::prepared_bytes(*model), one);
  }
}

// int8 recurrent steps: every path that has them computes the same integer
// dot products, so they agree with each other as fp32 paths do; against fp32
// they differ by the quantisation of W_hh and h, which leaves the best
// class of a frame unchanged wherever fp32's margin is not tiny.
TEST(Backends, Int8LstmStepsAgreeAcrossPathsAndStayCloseToFp32) {
  for (const Architecture& arch : {wide_arch(20), small_crnn(16, 9)}) {
    auto model = random_model(arch, 41);
    auto lines = random_lines(arch.input_height, {3, 64, 130, 257, 9}, 42);
    Recognizer fp32(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1});
    const auto want = fp32.forward(lines);
    RecognizerOptions options{
        .decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1, .isa = Isa::generic};
    options.lstm_precision = Precision::int8;
    ASSERT_TRUE(int8_lstm_supported(Isa::generic)) << "the generic path is the reference";
    const auto generic = Recognizer(model, options).forward(lines);
    float worst = 0;
    int frames = 0, same_best = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      ASSERT_EQ(generic[i].frames, want[i].frames);
      worst = std::max(worst, max_abs_diff(generic[i].values, want[i].values));
      same_best += same_best_class(want[i], generic[i], frames);
    }
    EXPECT_GT(worst, 0.0f) << "int8 steps ran";
    // Measured: 0.004 and 97-100% (random models' outputs are near uniform,
    // with tiny margins between classes).
    EXPECT_LT(worst, 0.02f);
    EXPECT_GE(same_best, frames * 95 / 100) << same_best << " of " << frames;
    for (Isa isa : supported_isas()) {
      options.isa = isa;
      if (!int8_lstm_supported(isa)) {
        EXPECT_THROW(Recognizer(model, options), Error) << isa_name(isa);
        continue;
      }
      SCOPED_TRACE(isa_name(isa));
      for (int threads : {1, 2}) {
        options.threads = threads;
        const auto got = Recognizer(model, options).forward(lines);
        for (std::size_t i = 0; i < lines.size(); ++i)
          EXPECT_LE(max_abs_diff(got[i].values, generic[i].values), 1e-4f) << "line " << i;
      }
    }
  }
  RecognizerOptions reference{
      .decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1};
  reference.lstm_precision = Precision::int8;
  EXPECT_THROW(Recognizer(random_model(small_crnn(16, 9), 1), reference), Error);
  EXPECT_EQ(parse_precision("int8"), Precision::int8);
  EXPECT_THROW(parse_precision("int4"), Error);
}

// int8 convolutions: the onednn engine's (oneDNN's VNNI kernels, scales
// applied as ConvPrim describes) against the reference engine's plain integer
// arithmetic; batch invariant (each line is quantised with its own scale);
// against fp32 within what quantisation costs.
TEST(Backends, Int8ConvolutionsMatchThePlainIntegerArithmetic) {
  RecognizerOptions int8{.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1};
  int8.conv_precision = Precision::int8;
  if (!int8_conv_supported()) {
    EXPECT_THROW(Recognizer(random_model(small_crnn(16, 9), 1), int8), Error);
    GTEST_SKIP() << "no AVX-512 VNNI: int8 convolutions are refused (checked)";
  }
  RecognizerOptions reference{
      .decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1};
  reference.conv_precision = Precision::int8;
  for (const Architecture& arch : {wide_arch(20), small_crnn(16, 9)}) {
    auto model = random_model(arch, 43);
    const auto flags = detail::int8_convolutions(ModelAccess::network(*model));
    ASSERT_GE(std::count(flags.begin(), flags.end(), true), 1) << "the test runs int8 layers";
    auto lines = random_lines(arch.input_height, {3, 64, 130, 257, 9}, 44);
    Recognizer fast(model, int8), plain(model, reference);
    const auto want =
        Recognizer(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1})
            .forward(lines);
    float worst_plain = 0, worst_fp32 = 0;
    int frames = 0, same_best = 0;
    std::vector<LogProbs> single;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      single.push_back(fast.forward(std::span(&lines[i], 1))[0]);
      const auto b = plain.forward(std::span(&lines[i], 1));
      ASSERT_EQ(single[i].frames, b[0].frames);
      worst_plain = std::max(worst_plain, max_abs_diff(single[i].values, b[0].values));
      worst_fp32 = std::max(worst_fp32, max_abs_diff(single[i].values, want[i].values));
    }
    // Measured: 5e-7 (float rounding of the same integer sums).
    EXPECT_LT(worst_plain, 1e-4f);
    EXPECT_GT(worst_fp32, 0.0f) << "int8 convolutions ran";
    for (int threads : {1, 2}) {
      int8.threads = threads;
      const auto batched = Recognizer(model, int8).forward(lines);
      for (std::size_t i = 0; i < lines.size(); ++i) {
        EXPECT_LE(max_abs_diff(batched[i].values, single[i].values), 1e-5f) << "line " << i;
        worst_fp32 = std::max(worst_fp32, max_abs_diff(batched[i].values, want[i].values));
        same_best += same_best_class(want[i], batched[i], frames);
      }
    }
    int8.threads = 1;
    // Every kernel path: AVX-512 quantises with KernelTable::quantize_u8, the
    // others with oneDNN's reorder.
    for (Isa isa : supported_isas()) {
      RecognizerOptions path = int8;
      path.isa = isa;
      const auto got = Recognizer(model, path).forward(lines);
      for (std::size_t i = 0; i < lines.size(); ++i)
        EXPECT_LE(max_abs_diff(got[i].values, single[i].values), 1e-4f)
            << isa_name(isa) << " line " << i;
    }
    // Measured: 0.0014 and every frame (random models).
    EXPECT_LT(worst_fp32, 0.05f);
    EXPECT_GE(same_best, frames * 95 / 100) << same_best << " of " << frames;
  }
}

// bf16 convolutions (oneDNN's bf16 kernels) against the reference's plain
// bf16 arithmetic (inputs and weights rounded to bfloat16, sums in full
// precision) and against fp32, on models with Tucker chains, batch norm and
// channel counts that overhang oneDNN's blocks.
TEST(Backends, Bf16ConvolutionsMatchThePlainBf16Arithmetic) {
  RecognizerOptions bf16{.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1};
  bf16.conv_precision = Precision::bf16;
  if (!bf16_conv_supported()) {
    EXPECT_THROW(Recognizer(random_model(small_crnn(16, 9), 1), bf16), Error);
    GTEST_SKIP() << "no AVX-512 BF16: bf16 convolutions are refused (checked)";
  }
  RecognizerOptions reference{
      .decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1};
  reference.conv_precision = Precision::bf16;
  RecognizerOptions lstm_bf16 = bf16;
  lstm_bf16.lstm_precision = Precision::bf16;
  EXPECT_THROW(Recognizer(random_model(small_crnn(16, 9), 1), lstm_bf16), Error)
      << "there is no bf16 LSTM";
  for (const Architecture& arch : {wide_arch(20), small_crnn(16, 9)}) {
    auto model = random_model(arch, 47);
    auto lines = random_lines(arch.input_height, {3, 64, 130, 257, 9}, 48);
    const auto want =
        Recognizer(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1})
            .forward(lines);
    const auto plain = Recognizer(model, reference).forward(lines);
    float worst_plain = 0, worst_fp32 = 0, plain_fp32 = 0;
    int frames = 0, same_best = 0;
    for (int threads : {1, 2}) {
      bf16.threads = threads;
      const auto got = Recognizer(model, bf16).forward(lines);
      for (std::size_t i = 0; i < lines.size(); ++i) {
        ASSERT_EQ(got[i].frames, plain[i].frames);
        worst_plain = std::max(worst_plain, max_abs_diff(got[i].values, plain[i].values));
        worst_fp32 = std::max(worst_fp32, max_abs_diff(got[i].values, want[i].values));
        plain_fp32 = std::max(plain_fp32, max_abs_diff(plain[i].values, want[i].values));
        same_best += same_best_class(want[i], got[i], frames);
      }
    }
    // The same rounded operands, summed in another order (and a composed
    // Tucker chain rounded once instead of per factor): far below bf16's own
    // error against fp32.
    EXPECT_GT(plain_fp32, 0.0f) << "the reference rounds";
    EXPECT_LT(worst_plain, plain_fp32 / 2 + 1e-3f);
    EXPECT_GT(worst_fp32, 0.0f) << "bf16 convolutions ran";
    EXPECT_LT(worst_fp32, 0.05f);
    EXPECT_GE(same_best, frames * 95 / 100) << same_best << " of " << frames;
  }
}

// Static calibration for int8 ONNX export: the largest value entering each
// op, the same whether lines are taken together (in parallel) or one by one,
// and the image's own largest pixel for the first op.
TEST(Quantization, CalibrationRangesAreTheLargestValueEachOpReceives) {
  auto model = random_model(small_crnn(16, 9), 5);
  const auto& net = ModelAccess::network(*model);
  auto lines = random_lines(16, {40, 97, 12}, 6);
  const auto all = detail::largest_op_inputs(net, lines, 2);
  ASSERT_EQ(all.size(), net.ops.size());
  std::vector<float> each(net.ops.size(), 0.0f);
  float pixel = 0;
  for (const auto& line : lines) {
    const auto one = detail::largest_op_inputs(net, std::span(&line, 1), 1);
    for (std::size_t op = 0; op < one.size(); ++op)
      each[op] = std::max(each[op], one[op]);
    for (float v : line.pixels)
      pixel = std::max(pixel, v);
  }
  EXPECT_EQ(all, each);
  EXPECT_EQ(all[0], pixel);
  const auto int8 = detail::int8_convolutions(net);
  for (std::size_t op = 0; op < int8.size(); ++op)
    if (int8[op]) EXPECT_GT(all[op], 0.0f) << "op " << op << ": an int8 convolution's input range";
  // The observer sees what the reference engine computes with: its result
  // is the reference backend's.
  const auto direct = detail::reference_forward(net, lines[1]);
  const auto engine =
      Recognizer(model, {.decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1})
          .forward(std::span(&lines[1], 1));
  EXPECT_EQ(direct.values, engine[0].values);
  LineTensor wrong = lines[0];
  wrong.height = 15;
  EXPECT_THROW(detail::largest_op_inputs(net, std::span(&wrong, 1), 1), Error);
}

TEST(Tuning, WinogradForWide3x3LayersOfHeightFourAndMore) {
  detail::ConvOp c;
  c.in_channels = c.out_channels = 64;
  c.kernel_h = c.kernel_w = 3;
  c.pad_h = c.pad_w = 1;
  EXPECT_TRUE(detail::tuning::winograd(c, 4, ConvAlgorithm::automatic));
  EXPECT_FALSE(detail::tuning::winograd(c, 2, ConvAlgorithm::automatic));
  EXPECT_TRUE(detail::tuning::winograd(c, 2, ConvAlgorithm::winograd));
  EXPECT_FALSE(detail::tuning::winograd(c, 8, ConvAlgorithm::direct));
  c.in_channels = 32;
  EXPECT_FALSE(detail::tuning::winograd(c, 8, ConvAlgorithm::automatic));
  c.in_channels = 64;
  c.stride_w = 2;  // not a Winograd shape, whatever is asked
  EXPECT_FALSE(detail::tuning::winograd(c, 8, ConvAlgorithm::winograd));
}

TEST(Tuning, Int8ConvolutionsPassOverBrgemmImplementations) {
  EXPECT_TRUE(detail::tuning::skip_conv_implementation("brgconv:avx512_core_vnni", true));
  EXPECT_TRUE(detail::tuning::skip_conv_implementation("brgconv_1x1:avx512_core_vnni", true));
  EXPECT_FALSE(detail::tuning::skip_conv_implementation("jit_int8:avx512_core_vnni", true));
  EXPECT_FALSE(detail::tuning::skip_conv_implementation("brgconv:avx512_core", false));
  EXPECT_FALSE(detail::tuning::skip_conv_implementation("jit:avx512_core", false));
}

TEST(Tuning, TuckerComposedWhenNarrowOrCheap) {
  auto conv = [](int in, int out, int k) {
    detail::ConvOp c;
    c.in_channels = in, c.out_channels = out, c.kernel_h = c.kernel_w = k;
    return c;
  };
  detail::TuckerOp t;
  t.has_in = true;
  t.in = conv(128, 16, 1), t.core = conv(16, 16, 3), t.out = conv(16, 128, 1);
  EXPECT_FALSE(detail::tuning::compose_tucker(t, false, TuckerExecution::automatic));
  EXPECT_TRUE(detail::tuning::compose_tucker(t, false, TuckerExecution::composed));
  t.in = conv(32, 16, 1), t.out = conv(16, 32, 1);  // narrow: composed
  EXPECT_TRUE(detail::tuning::compose_tucker(t, false, TuckerExecution::automatic));
  EXPECT_FALSE(detail::tuning::compose_tucker(t, false, TuckerExecution::chain));
  t.in = conv(128, 120, 1), t.core = conv(120, 120, 3), t.out = conv(120, 128, 1);
  EXPECT_TRUE(detail::tuning::compose_tucker(t, false, TuckerExecution::automatic))
      << "ranks near the channels: composing costs fewer multiply-adds";
  detail::TuckerOp first;  // Tucker-1 on the image
  first.core = conv(1, 3, 3), first.out = conv(3, 64, 1);
  EXPECT_TRUE(detail::tuning::compose_tucker(first, true, TuckerExecution::automatic));
}

TEST(Tuning, ImageConvForOneChannel3x3AndItsPool) {
  detail::ConvOp c;
  c.in_channels = 1, c.out_channels = 16, c.kernel_h = c.kernel_w = 3, c.pad_h = c.pad_w = 1;
  EXPECT_TRUE(detail::tuning::image_conv(c));
  c.out_channels = 12;
  EXPECT_FALSE(detail::tuning::image_conv(c));
  detail::PoolOp p;
  EXPECT_TRUE(detail::tuning::image_conv_pool(p));
  p.ceil_mode = true;
  EXPECT_FALSE(detail::tuning::image_conv_pool(p));
}

TEST(Backends, BatchInvariance) {
  auto arch = small_crnn(16, 7);
  auto model = random_model(arch, 11);
  Recognizer rec(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1});
  auto lines = random_lines(16, {40, 300, 7, 121, 40, 2}, 3);
  auto together = rec.forward(lines);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto alone = rec.forward(std::span(&lines[i], 1)).front();
    EXPECT_LE(max_abs_diff(alone.values, together[i].values), 1e-5f) << "line " << i;
    // And next to a much wider neighbour, in the other order.
    std::vector<LineTensor> pair{random_lines(16, {500}, 9)[0], lines[i]};
    auto with_wide = rec.forward(pair);
    EXPECT_LE(max_abs_diff(alone.values, with_wide[1].values), 1e-5f) << "line " << i;
  }
}

TEST(Backends, ThreadCountDoesNotChangeResults) {
  auto model = random_model(small_crnn(16, 7), 12);
  auto lines = random_lines(16, {90, 31, 200}, 4);
  Recognizer one(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1});
  Recognizer two(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 2});
  auto a = one.forward(lines), b = two.forward(lines);
  for (std::size_t i = 0; i < lines.size(); ++i)
    EXPECT_LE(max_abs_diff(a[i].values, b[i].values), 1e-5f);
}

TEST(Backends, RepeatedShapesReuseCachedPrimitives) {
  // Same engine, alternating batch shapes: each shape's primitives are made
  // once (the first round), reused after (no creation time at all), and give
  // the reference's results every time.
  auto model = random_model(small_crnn(16, 7), 13);
  Recognizer ref(model, {.decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1});
  auto engine = detail::make_onednn_engine(*model, {});
  engine->set_profiling(true);
  auto creation_seconds = [&] {
    const auto p = engine->profile();
    EXPECT_EQ(p.back().name, "primitive creation");
    return p.back().seconds;
  };
  double after_first_round = 0;
  for (int round = 0; round < 3; ++round) {
    for (auto widths : {std::vector<int>{50, 20}, std::vector<int>{80}, std::vector<int>{50, 20}}) {
      auto lines = random_lines(16, widths, static_cast<unsigned>(round));
      auto a = ref.forward(lines), b = engine->forward(lines);
      for (std::size_t i = 0; i < lines.size(); ++i)
        EXPECT_LE(max_abs_diff(a[i].values, b[i].values), 1e-4f);
    }
    if (round == 0) {
      after_first_round = creation_seconds();
      EXPECT_GT(after_first_round, 0.0) << "the first round made no primitives";
    } else {
      EXPECT_EQ(creation_seconds(), after_first_round) << "round " << round << " made primitives";
    }
  }
}

// The planner with chosen costs: borrow a built shape up to 1.5x wider, charge
// the wasted columns, build once the charges reach the cost of a build.
TEST(ShapePlanner, RentsAWiderShapeUntilBuildingPays) {
  detail::ShapePlanner p;
  EXPECT_EQ(p.choose(1, 128), 128);       // nothing built
  EXPECT_TRUE(p.ran(1, 128, 1.0, 0.01));  // first run: its time is not a cost
  EXPECT_EQ(p.choose(1, 416), 416);       // nothing wider built
  // 1 ms over 416 columns; building took 10 ms.
  EXPECT_TRUE(p.ran(1, 416, 416e-6, 0.01));
  // 320 columns borrow 416: 96 wasted columns at 1 us = 0.096 ms per run,
  // until the charges reach the 10 ms a build costs (104.2 runs).
  int borrowed = 0;
  while (p.choose(1, 320) == 416 && borrowed < 1000) {
    p.ran(1, 416, 416e-6, 0.0);
    ++borrowed;
  }
  EXPECT_EQ(borrowed, 104);
  p.ran(1, 320, 320e-6, 0.01);
  EXPECT_EQ(p.choose(1, 320), 320);  // built now
  // Beyond 1.5x, and other batch sizes, nothing is borrowed.
  EXPECT_EQ(p.choose(1, 64), 64);
  EXPECT_EQ(p.choose(2, 320), 320);
}

TEST(ShapePlanner, ClearsItsTableWhenFull) {
  detail::ShapePlanner p;
  for (std::size_t i = 0; i < detail::kMaxShapes; ++i)
    EXPECT_TRUE(p.ran(1, 32 * static_cast<int>(i + 1), 1e-3, 1e-3));
  EXPECT_EQ(p.choose(1, 2000), 2016);             // the narrowest wider shape
  EXPECT_FALSE(p.ran(1, 32 * 1000, 1e-3, 1e-3));  // the caller drops its primitives
  EXPECT_EQ(p.choose(1, 2000), 2000);             // it knows no shape now
  EXPECT_EQ(p.choose(1, 32 * 1000), 32 * 1000);
}

// In the engine: a narrow batch after a wide one gives the results of its own
// shape whether it borrowed or not (the choice depends on measured times),
// and once built, a shape is not built again.
TEST(Backends, NarrowBatchAfterAWideOne) {
  auto model = random_model(small_crnn(16, 7), 15);
  auto engine = detail::make_onednn_engine(*model, {});
  engine->set_profiling(true);
  auto creation_seconds = [&] {
    const auto p = engine->profile();
    EXPECT_EQ(p.back().name, "primitive creation");
    return p.back().seconds;
  };
  const auto wide = random_lines(16, {400}, 1), narrow = random_lines(16, {300}, 2),
             far = random_lines(16, {100}, 3);
  engine->forward(far);
  engine->forward(wide);
  const auto own =
      Recognizer(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1})
          .forward(narrow);
  const auto ref =
      Recognizer(model, {.decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1})
          .forward(narrow);
  int builds = 0;
  double created = creation_seconds();
  for (int run = 0; run < 300; ++run) {
    const auto got = engine->forward(narrow);
    ASSERT_EQ(got[0].frames, own[0].frames);
    EXPECT_LE(max_abs_diff(got[0].values, own[0].values), 1e-5f) << "run " << run;
    EXPECT_LE(max_abs_diff(got[0].values, ref[0].values), 1e-4f) << "run " << run;
    builds += creation_seconds() > created;
    created = creation_seconds();
  }
  EXPECT_LE(builds, 1);
}

TEST(Backends, WrongLineHeightIsAnError) {
  auto model = random_model(small_crnn(16, 7), 14);
  std::mt19937 rng(1);
  std::vector<LineTensor> lines{random_line(20, 30, rng)};
  for (Backend b : {Backend::reference, Backend::onednn}) {
    Recognizer rec(model, {.decoder = Decoder::greedy, .backend = b, .threads = 1});
    EXPECT_THROW(rec.forward(lines), Error);
  }
}

// The engine and the graph passes refuse what they cannot run or fold, with
// an error naming the op, instead of running something else.
TEST(Backends, OpsWithoutAnExecutorOrAFoldAreRefused) {
  const detail::ScaleShiftOp map;
  try {
    detail::onednn::executors().find(map);
    ADD_FAILURE() << "an executor for a scale-shift";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unsupported);
    EXPECT_NE(std::string(e.what()).find("scale-shift"), std::string::npos) << e.what();
  }
  detail::CompiledNetwork net;
  net.ops.push_back(std::make_unique<detail::PoolOp>());
  net.ops.push_back(std::make_unique<detail::ScaleShiftOp>());
  try {
    detail::fold_scale_shifts(net);
    ADD_FAILURE() << "a scale-shift folded into a max pool";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::internal);
  }
  EXPECT_EQ(net.ops.size(), 2u);
}
