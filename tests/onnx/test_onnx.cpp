// ONNX interchange: import of torch.onnx.export output against PyTorch's own
// log-probabilities, export run in ONNX Runtime against ocrcore, round trip,
// and clear errors for files that cannot be mapped.

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>

#include "layers/grouped_conv/grouped_conv.hpp"
#include "layers/lstm/lstm_op.hpp"
#include "layers/relu/relu.hpp"
#include "ocrcore/ocrcore.hpp"
#include "onnx/onnx_model.hpp"
#include "runtime/graph/quantization.hpp"
#include "runtime/model/model_access.hpp"
#include "test_util.hpp"

namespace ocrcore {
namespace {

using onnx_io::export_onnx;
using onnx_io::import_onnx;

// Lines of an N x 1 x H x W batch.
std::vector<LineTensor> lines_of(const Tensor& image) {
  const int N = static_cast<int>(image.shape[0]), H = static_cast<int>(image.shape[2]),
            W = static_cast<int>(image.shape[3]);
  std::vector<LineTensor> lines(N);
  for (int n = 0; n < N; ++n) {
    lines[n].height = H;
    lines[n].width = W;
    lines[n].pixels.assign(image.data.begin() + static_cast<std::ptrdiff_t>(n) * H * W,
                           image.data.begin() + static_cast<std::ptrdiff_t>(n + 1) * H * W);
  }
  return lines;
}

// Largest difference between per-line log-probs and a T x N x K tensor.
float max_diff(const std::vector<LogProbs>& ours, const std::vector<float>& tnk, int T, int N,
               int K) {
  float worst = 0;
  for (int n = 0; n < N; ++n) {
    EXPECT_EQ(ours[n].frames, T);
    EXPECT_EQ(ours[n].classes, K);
    for (int t = 0; t < T; ++t)
      for (int k = 0; k < K; ++k)
        worst = std::max(worst, std::abs(ours[n].frame(t)[k] -
                                         tnk[(static_cast<std::size_t>(t) * N + n) * K + k]));
  }
  return worst;
}

TEST(OnnxImport, MatchesPyTorch) {
  auto imported = import_onnx(test::fixtures_dir() / "torch_crnn.onnx");
  EXPECT_EQ(imported.architecture.input_height, 16);
  auto model = Model::from_parts(imported.architecture, test::test_alphabet(7),
                                 imported.preprocessing, imported.tensors, "torch_crnn.onnx");
  const TensorMap io =
      test::read_safetensors_file(test::fixtures_dir() / "torch_crnn_onnx_io.safetensors");
  const Tensor& expected = io.at("log_probs");
  for (Backend backend : {Backend::reference, Backend::onednn}) {
    RecognizerOptions o;
    o.backend = backend;
    o.threads = 1;
    Recognizer rec(model, o);
    auto lps = rec.forward(lines_of(io.at("image")));
    const float d =
        max_diff(lps, expected.data, static_cast<int>(expected.shape[0]),
                 static_cast<int>(expected.shape[1]), static_cast<int>(expected.shape[2]));
    std::printf("import vs PyTorch, %s backend: max |diff| %.3g\n",
                backend == Backend::reference ? "reference" : "onednn", d);
    EXPECT_LT(d, 1e-4f);
  }
}

TEST(OnnxImport, ClearErrors) {
  auto expect_error = [](const std::filesystem::path& p, const std::string& needle) {
    try {
      import_onnx(p);
      ADD_FAILURE() << p << ": expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(p.filename().string()), std::string::npos) << e.what();
    }
  };
  expect_error(test::fixtures_dir() / "torch_unsupported_op.onnx", "(Sigmoid)");
  expect_error(test::fixtures_dir() / "torch_dynamic_height.onnx",
               "fixed channel count and height");
  test::TempDir dir;
  const std::string bytes = test::read_bytes(test::fixtures_dir() / "torch_crnn.onnx");
  test::write_bytes(dir / "truncated.onnx", bytes.substr(0, bytes.size() / 2));
  expect_error(dir / "truncated.onnx", "not a valid ONNX model");
  test::write_bytes(dir / "text.onnx", "hello, this is not protobuf");
  expect_error(dir / "text.onnx", "not a valid ONNX model");
  expect_error(dir / "missing.onnx", "cannot open");
}

// Initialisers whose shape and data disagree are refused before anything is
// allocated or read: an INT32 tensor with too few raw bytes (it was read past
// its end), a negative dimension, and dimensions that multiply to more values
// than memory holds.
TEST(OnnxImport, TensorsWhoseDataDoesNotFitTheirShapeAreRefused) {
  onnx::ModelProto proto;
  const std::string bytes = test::read_bytes(test::fixtures_dir() / "torch_crnn.onnx");
  ASSERT_TRUE(proto.ParseFromString(bytes));
  ASSERT_GT(proto.graph().initializer_size(), 0);
  auto expect_refused = [&](const std::function<void(onnx::TensorProto&)>& damage,
                            const std::string& needle) {
    onnx::ModelProto broken = proto;
    damage(*broken.mutable_graph()->mutable_initializer(0));
    try {
      onnx_io::import_onnx_bytes(broken.SerializeAsString(), "damaged.onnx");
      ADD_FAILURE() << "imported; expected: " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("damaged.onnx"), std::string::npos) << e.what();
    }
  };
  expect_refused(
      [](onnx::TensorProto& t) {
        t.set_data_type(onnx::TensorProto::INT32);
        t.clear_float_data();
        t.set_raw_data(std::string(6, '\0'));  // fewer bytes than the shape's 4 per value
      },
      "wrong data size");
  expect_refused([](onnx::TensorProto& t) { t.set_dims(0, -3); }, "negative dimension");
  expect_refused(
      [](onnx::TensorProto& t) {
        t.clear_dims();
        for (int i = 0; i < 4; ++i)
          t.add_dims(std::int64_t{1} << 20);
        t.set_raw_data(std::string(4, '\0'));
      },
      "more than 2^40 values");
  expect_refused(
      [](onnx::TensorProto& t) {
        t.clear_dims();
        t.add_dims(std::int64_t{1} << 39);
        t.add_dims(2);  // 2^40 values, 4 bytes each: the byte count would not fit 32 bits
        t.set_raw_data(std::string(8, '\0'));
      },
      "wrong data size");
}

TEST(OnnxImport, MalformedGeometryAttributesAreRefused) {
  // Found by fuzz_onnx_import (fuzz/regressions): a MaxPool with one stride
  // value threw std::out_of_range, which ended ocr-convert with terminate().
  const std::string bytes = test::read_bytes(test::fixtures_dir() / "torch_crnn.onnx");
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(bytes));
  auto expect_refused = [&](const std::string& op, const std::string& attribute,
                            const std::vector<std::int64_t>& values, const std::string& needle) {
    onnx::ModelProto broken = proto;
    bool found = false;
    for (auto& node : *broken.mutable_graph()->mutable_node()) {
      if (node.op_type() != op || found) continue;
      found = true;
      for (auto& a : *node.mutable_attribute())
        if (a.name() == attribute) a.set_name("unused_" + attribute);
      auto* a = node.add_attribute();
      a->set_name(attribute);
      a->set_type(onnx::AttributeProto::INTS);
      for (auto v : values)
        a->add_ints(v);
    }
    ASSERT_TRUE(found) << op;
    try {
      onnx_io::import_onnx_bytes(broken.SerializeAsString(), "odd.onnx");
      ADD_FAILURE() << op << " " << attribute << " imported; expected: " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_refused("MaxPool", "strides", {2}, "strides must have 2 values, has 1");
  expect_refused("MaxPool", "kernel_shape", {2, 0}, "kernel_shape value 0 is out of range");
  expect_refused("MaxPool", "pads", {1, 1, 1}, "pads must have 4 values");
  expect_refused("Conv", "strides", {1, std::int64_t{1} << 40}, "out of range");
  expect_refused("Conv", "pads", {-1, 0, -1, 0}, "pads value -1 is out of range");
  // Every committed fuzzing input is refused with an Error (or imported).
  for (const auto& e : std::filesystem::directory_iterator(
           std::filesystem::path(OCRCORE_SOURCE_DIR) / "fuzz/regressions/fuzz_onnx_import")) {
    try {
      onnx_io::import_onnx_bytes(test::read_bytes(e.path()), e.path().string());
    } catch (const Error&) {
    }
  }
}

// A collapse is a Transpose and its Reshape, an LSTM its node and the
// reshaping of its output: one of them missing is an error naming the node
// that stands in its place.
TEST(OnnxImport, LayersSpanningSeveralNodesNeedAllOfThem) {
  const std::string bytes = test::read_bytes(test::fixtures_dir() / "torch_crnn.onnx");
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(bytes));
  // The n-th node of `op` (after the graph's first LSTM when `after_lstm`) becomes `replacement`.
  auto expect_refused = [&](bool after_lstm, const std::string& op, const std::string& replacement,
                            const std::string& needle) {
    onnx::ModelProto broken = proto;
    bool seen_lstm = false, done = false;
    for (auto& node : *broken.mutable_graph()->mutable_node()) {
      seen_lstm = seen_lstm || node.op_type() == "LSTM";
      if (done || node.op_type() != op || seen_lstm != after_lstm) continue;
      node.set_op_type(replacement);
      done = true;
    }
    ASSERT_TRUE(done) << op;
    try {
      onnx_io::import_onnx_bytes(broken.SerializeAsString(), "spans.onnx");
      ADD_FAILURE() << op << " -> " << replacement << " imported; expected: " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("spans.onnx"), std::string::npos) << e.what();
    }
  };
  expect_refused(false, "Reshape", "Flatten",
                 "expected the Reshape that merges channels and height into frame features");
  expect_refused(true, "Reshape", "Flatten",
                 "expected the Reshape that joins both directions' outputs");
  expect_refused(true, "Transpose", "Identity", "expected Transpose [0, 2, 1, 3] + Reshape");
}

TEST(OnnxExport, RoundTripGivesTheModelBack) {
  // The small CRNN, and one with grouped and depthwise convolutions (ONNX
  // Conv with a group attribute) in its CNN.
  Architecture grouped = test::small_crnn(16, 9);
  grouped.layers.insert(grouped.layers.begin() + 3,
                        {GroupedConvSpec{"g0", 6, 6, 3, 3, 1, 1, 1, 1, 6, true}, ReluSpec{},
                         GroupedConvSpec{"g1", 6, 6, 1, 1, 1, 1, 0, 0, 2, false}});
  for (const Architecture& arch : {test::small_crnn(16, 9), grouped}) {
    auto model = test::random_model(arch, 11);
    test::TempDir dir;
    export_onnx(*model, dir / "m.onnx");
    auto back = import_onnx(dir / "m.onnx");
    EXPECT_EQ(back.architecture.to_json(), arch.to_json());
    EXPECT_EQ(back.alphabet, model->alphabet());
    EXPECT_EQ(back.preprocessing.height, model->preprocessing().height);
    ASSERT_EQ(back.tensors.size(), model->tensors().size());
    for (const auto& [name, t] : model->tensors()) {
      ASSERT_TRUE(back.tensors.count(name)) << name;
      EXPECT_EQ(back.tensors.at(name).shape, t.shape) << name;
      EXPECT_EQ(back.tensors.at(name).data, t.data) << name;
    }
  }
}

// Runs an exported model in ONNX Runtime through tests/onnx/run_ort.js.
std::optional<std::vector<float>> run_onnx_runtime(const std::filesystem::path& model,
                                                   const std::vector<float>& input,
                                                   const std::string& dims,
                                                   const test::TempDir& dir, bool verbose = false) {
  const auto script = std::filesystem::path(OCRCORE_SOURCE_DIR) / "tests/onnx/run_ort.js";
  const auto modules =
      std::filesystem::path(OCRCORE_SOURCE_DIR) / "tests/onnx/node_modules/onnxruntime-node";
  if (std::system("node --version > /dev/null 2>&1") != 0 || !std::filesystem::exists(modules))
    return std::nullopt;
  test::write_bytes(dir / "in.bin",
                    std::string(reinterpret_cast<const char*>(input.data()), input.size() * 4));
  const std::string cmd = std::string(verbose ? "ORT_VERBOSE=1 " : "") + "node " + script.string() +
                          " " + model.string() + " " + (dir / "in.bin").string() + " " + dims +
                          " " + (dir / "out.bin").string() + " > " + (dir / "ort.txt").string() +
                          " 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    ADD_FAILURE() << "ONNX Runtime failed: " << test::read_bytes(dir / "ort.txt");
    return std::vector<float>{};
  }
  const std::string out = test::read_bytes(dir / "out.bin");
  std::vector<float> v(out.size() / 4);
  std::memcpy(v.data(), out.data(), v.size() * 4);
  return v;
}

TEST(OnnxExport, OnnxRuntimeGivesTheSameOutputs) {
  test::TempDir dir;
  for (unsigned seed : {3u, 4u}) {
    const Architecture arch = test::small_crnn(16, 9);
    auto model = test::random_model(arch, seed);
    export_onnx(*model, dir / "m.onnx");
    std::mt19937 rng(seed);
    const int N = 2, W = 57;
    std::vector<LineTensor> lines = {test::random_line(16, W, rng), test::random_line(16, W, rng)};
    std::vector<float> input;
    for (const auto& l : lines)
      input.insert(input.end(), l.pixels.begin(), l.pixels.end());
    auto ort = run_onnx_runtime(dir / "m.onnx", input, "2,1,16," + std::to_string(W), dir);
    if (!ort) GTEST_SKIP() << "node or tests/onnx/node_modules (npm ci --ignore-scripts) absent";
    RecognizerOptions o;
    o.threads = 1;
    auto ours = Recognizer(model, o).forward(lines);
    const int T = ours[0].frames, K = ours[0].classes;
    ASSERT_EQ(ort->size(), static_cast<std::size_t>(T) * N * K);
    const float d = max_diff(ours, *ort, T, N, K);
    std::printf("export, ONNX Runtime vs ocrcore (seed %u): max |diff| %.3g\n", seed, d);
    EXPECT_LT(d, 1e-4f) << "seed " << seed;
  }
}

// Times ONNX Runtime's log (ORT_VERBOSE) reports `what` in its QDQ pass
// ("Matched Conv": a QDQ convolution fused into QLinearConv; later passes
// report their own, fp32, matches).
int count_in_qdq_pass(const test::TempDir& dir, const std::string& what) {
  std::string log = test::read_bytes(dir / "ort.txt");
  log = log.substr(0, log.find("QDQSelectorActionTransformer modified"));
  int n = 0;
  for (std::size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1))
    ++n;
  return n;
}

// Frames whose best class is the same in both, and the largest difference of
// a probability.
struct Agreement {
  int frames = 0, same_best = 0;
  float worst_prob = 0;
};
Agreement agreement(const std::vector<LogProbs>& ours, const std::vector<float>& tnk) {
  Agreement a;
  const int N = static_cast<int>(ours.size());
  for (int n = 0; n < N; ++n) {
    const int K = ours[n].classes;
    for (int t = 0; t < ours[n].frames; ++t) {
      const float* o = ours[n].frame(t);
      const float* r = tnk.data() + (static_cast<std::size_t>(t) * N + n) * K;
      a.same_best += std::max_element(o, o + K) - o == std::max_element(r, r + K) - r;
      ++a.frames;
      for (int k = 0; k < K; ++k)
        a.worst_prob = std::max(a.worst_prob, std::abs(std::exp(o[k]) - std::exp(r[k])));
    }
  }
  return a;
}

// int8 QDQ export: ONNX Runtime fuses every convolution ocrcore runs in int8
// into its int8 kernel, runs the LSTMs as DynamicQuantizeLSTM, and reads like
// the fp32 model within what static int8 scales cost.
TEST(OnnxExport, Int8QdqGraphRunsInInt8InOnnxRuntime) {
  test::TempDir dir;
  const Architecture arch = test::small_crnn(16, 9);
  auto model = test::random_model(arch, 21);
  std::mt19937 rng(22);
  std::vector<LineTensor> calibration;
  for (int w : {40, 80, 61, 33})
    calibration.push_back(test::random_line(16, w, rng));
  EXPECT_THROW(onnx_io::export_onnx_int8(*model, dir / "none.onnx", {}), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "none.onnx"));
  onnx_io::export_onnx_int8(*model, dir / "m8.onnx", calibration, 2);
  onnx::ModelProto proto;
  {
    const std::string bytes = test::read_bytes(dir / "m8.onnx");
    ASSERT_TRUE(proto.ParseFromString(bytes));
  }
  int lstms = 0, weight_dq = 0;
  for (const auto& n : proto.graph().node()) {
    lstms += n.op_type() == "DynamicQuantizeLSTM" && n.domain() == "com.microsoft";
    weight_dq +=
        n.op_type() == "DequantizeLinear" && n.name().ends_with("/weight/DequantizeLinear");
  }
  const auto& net = ModelAccess::network(*model);
  const auto flags = detail::int8_convolutions(net);
  const int int8_convs = static_cast<int>(std::count(flags.begin(), flags.end(), true));
  ASSERT_GE(int8_convs, 1);
  EXPECT_EQ(weight_dq, int8_convs);
  int lstm_layers = 0;
  for (const auto& op : net.ops)
    if (const auto* l = detail::op_as<detail::LstmOp>(*op)) lstm_layers += l->num_layers;
  EXPECT_EQ(lstms, lstm_layers);

  const int W = 57;
  std::vector<LineTensor> lines = {test::random_line(16, W, rng), test::random_line(16, W, rng)};
  std::vector<float> input;
  for (const auto& l : lines)
    input.insert(input.end(), l.pixels.begin(), l.pixels.end());
  auto ort = run_onnx_runtime(dir / "m8.onnx", input, "2,1,16," + std::to_string(W), dir, true);
  if (!ort) GTEST_SKIP() << "node or tests/onnx/node_modules (npm ci --ignore-scripts) absent";
  EXPECT_EQ(count_in_qdq_pass(dir, "Matched Conv"), int8_convs)
      << test::read_bytes(dir / "ort.txt");
  RecognizerOptions o;
  o.threads = 1;
  const auto fp32 = Recognizer(model, o).forward(lines);
  ASSERT_EQ(ort->size(), static_cast<std::size_t>(fp32[0].frames) * 2 * fp32[0].classes);
  const Agreement a = agreement(fp32, *ort);
  std::printf(
      "int8 QDQ in ONNX Runtime vs ocrcore fp32: best class same in %d of %d frames, "
      "max |prob diff| %.3g\n",
      a.same_best, a.frames, a.worst_prob);
  // Measured: 1.5e-4 (LSTM gates in the wrong order: 0.028).
  EXPECT_GT(a.worst_prob, 0.0f) << "the int8 graph is not the fp32 one";
  EXPECT_LT(a.worst_prob, 0.005f);
  EXPECT_GE(a.same_best, a.frames * 9 / 10);
}

// The bundled compact model in int8 ONNX, scales calibrated on half of the
// sample lines, reads the other half like ocrcore's own int8 arithmetic.
TEST(OnnxExport, Int8BundledCompactModel) {
  const auto root = std::filesystem::path(OCRCORE_SOURCE_DIR) / "models";
  auto model = Model::load(root / "compact-printed.ocrm");
  std::vector<LineTensor> calibration, lines;
  for (int i = 1; i <= 12; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "samples/%06d.png", i);
    (i <= 6 ? calibration : lines)
        .push_back(normalize_line(load_image(root / name), model->preprocessing()));
  }
  test::TempDir dir;
  onnx_io::export_onnx_int8(*model, dir / "c8.onnx", calibration, 2);
  RecognizerOptions o;
  o.threads = 1;
  if (int8_conv_supported()) o.conv_precision = Precision::int8;
  if (int8_lstm_supported()) o.lstm_precision = Precision::int8;
  Recognizer ours(model, o);
  Agreement total;
  for (const LineTensor& line : lines) {
    auto ort = run_onnx_runtime(
        dir / "c8.onnx", line.pixels,
        "1,1," + std::to_string(line.height) + "," + std::to_string(line.width), dir);
    if (!ort) GTEST_SKIP() << "node or tests/onnx/node_modules (npm ci --ignore-scripts) absent";
    const Agreement a = agreement(ours.forward(std::span<const LineTensor>(&line, 1)), *ort);
    total.frames += a.frames;
    total.same_best += a.same_best;
    total.worst_prob = std::max(total.worst_prob, a.worst_prob);
  }
  std::printf(
      "compact int8 QDQ in ONNX Runtime vs ocrcore %s: best class same in %d of %d "
      "frames, max |prob diff| %.3g\n",
      int8_conv_supported() ? "int8" : "fp32", total.same_best, total.frames, total.worst_prob);
  // Measured: every frame, max |prob diff| 0.037 (LSTM gates in the wrong
  // order: no frame).
  EXPECT_GE(total.same_best, total.frames * 98 / 100);
}

// The bundled models: export, ONNX Runtime, round trip.
TEST(OnnxExport, BundledModels) {
  const auto models = std::filesystem::path(OCRCORE_SOURCE_DIR) / "models";
  for (const auto& entry : std::filesystem::directory_iterator(models)) {
    if (entry.path().extension() != ".ocrm") continue;
    SCOPED_TRACE(entry.path().filename().string());
    auto model = Model::load(entry.path());
    test::TempDir dir;
    export_onnx(*model, dir / "m.onnx");
    auto back = import_onnx(dir / "m.onnx");
    EXPECT_EQ(back.architecture.to_json(), model->architecture().to_json());
    for (const auto& [name, t] : model->tensors())
      EXPECT_EQ(back.tensors.at(name).data, t.data) << name;
    const LineTensor line =
        normalize_line(load_image(models / "samples/000001.png"), model->preprocessing());
    auto ort = run_onnx_runtime(
        dir / "m.onnx", line.pixels,
        "1,1," + std::to_string(line.height) + "," + std::to_string(line.width), dir);
    if (!ort) GTEST_SKIP() << "node or tests/onnx/node_modules (npm ci --ignore-scripts) absent";
    RecognizerOptions o;
    o.threads = 1;
    auto ours = Recognizer(model, o).forward(std::span<const LineTensor>(&line, 1));
    const float d = max_diff(ours, *ort, ours[0].frames, 1, ours[0].classes);
    std::printf("%s: ONNX Runtime vs ocrcore max |diff| %.3g\n", entry.path().filename().c_str(),
                d);
    EXPECT_LT(d, 1e-4f);
  }
}

}  // namespace
}  // namespace ocrcore
