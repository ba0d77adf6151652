// Model file: round trip, atomic writing, and one test per kind of bad file.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "runtime/core/bfloat16.hpp"
#include "runtime/core/file_io.hpp"
#include "runtime/core/safetensors.hpp"
#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::test;
using json = nlohmann::json;

namespace {

struct RawFile {
  json header;
  std::string data;
};

RawFile read_raw(const std::filesystem::path& p) {
  std::string bytes = read_bytes(p);
  std::uint64_t len = 0;
  std::memcpy(&len, bytes.data(), 8);
  return {json::parse(bytes.substr(8, len)), bytes.substr(8 + len)};
}

void write_raw(const std::filesystem::path& p, const RawFile& f) {
  std::string text = f.header.dump();
  std::uint64_t len = text.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &len, 8);
  write_bytes(p, out + text + f.data);
}

class ModelFile : public ::testing::Test {
 protected:
  void SetUp() override {
    arch_ = small_crnn(16, 6);
    tensors_ = random_tensors(arch_, 7);
    pre_.height = 16;
    path_ = dir_ / "model.ocrm";
    save_model(path_, arch_, test_alphabet(6), pre_, tensors_, {{"note", "test"}});
  }

  // Edits the header of the saved model, writes it as bad.ocrm and expects
  // loading to fail with a message naming the file and containing `fragment`.
  void expect_bad(const std::function<void(RawFile&)>& edit, const std::string& fragment) {
    RawFile f = read_raw(path_);
    edit(f);
    auto bad = dir_ / "bad.ocrm";
    write_raw(bad, f);
    expect_load_error(bad, fragment);
  }

  void expect_load_error(const std::filesystem::path& p, const std::string& fragment) {
    try {
      Model::load(p);
      FAIL() << "loaded; expected an error containing: " << fragment;
    } catch (const Error& e) {
      std::string what = e.what();
      EXPECT_NE(what.find(p.string()), std::string::npos) << what;
      EXPECT_NE(what.find(fragment), std::string::npos) << what;
    }
  }

  json& meta(RawFile& f) { return f.header["__metadata__"]; }

  TempDir dir_;
  Architecture arch_;
  TensorMap tensors_;
  Preprocessing pre_;
  std::filesystem::path path_;
};

}  // namespace

TEST_F(ModelFile, RoundTrip) {
  auto m = Model::load(path_);
  EXPECT_EQ(m->architecture().to_json(), arch_.to_json());
  EXPECT_EQ(m->alphabet(), test_alphabet(6));
  EXPECT_EQ(m->num_classes(), 6);
  EXPECT_EQ(m->metadata().at("note"), "test");
  EXPECT_EQ(m->parameter_count(), arch_.parameter_count());
  for (const auto& [name, t] : tensors_) {
    ASSERT_TRUE(m->tensors().count(name)) << name;
    EXPECT_EQ(m->tensors().at(name).shape, t.shape);
    EXPECT_EQ(m->tensors().at(name).data, t.data);
  }
  // Readable by any safetensors reader: 8-byte aligned data, JSON header.
  RawFile f = read_raw(path_);
  EXPECT_EQ(f.header["t1.core.weight"]["dtype"], "F32");
  EXPECT_EQ(json::parse(f.header["__metadata__"]["ocrcore.alphabet"].get<std::string>()).size(),
            6u);
}

// A loaded model holds its weights once (compiled); the tensors as stored are
// read from the file it keeps open when first asked for.
TEST_F(ModelFile, TensorsAreReadFromTheOpenFileWhenFirstAskedFor) {
  std::mt19937 rng(3);
  const std::vector<LineTensor> line{random_line(16, 48, rng)};
  auto recognised = [&](std::shared_ptr<const Model> m) {
    return Recognizer(std::move(m)).forward(line).at(0).values;
  };
  // Replaced by renaming (as save_model does) after loading: the model still
  // reads the file it loaded.
  auto m = Model::load(path_);
  const auto before = recognised(m);
  save_model(path_, arch_, test_alphabet(6), pre_, random_tensors(arch_, 8));
  for (const auto& [name, t] : tensors_)
    EXPECT_EQ(m->tensors().at(name).data, t.data) << name;
  EXPECT_EQ(recognised(m), before);

  // Rewritten in place (a copy over it): refused, the model still recognises.
  auto m2 = Model::load(path_);
  write_bytes(path_, read_bytes(path_).substr(0, 100));
  try {
    (void)m2->tensors();
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path_.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("rewritten in place"), std::string::npos) << e.what();
  }
  EXPECT_EQ(recognised(m2),
            recognised(Model::from_parts(arch_, test_alphabet(6), pre_, random_tensors(arch_, 8))));
}

TEST_F(ModelFile, WriteIsAtomicAndLeavesNoTemporaries) {
  save_model(path_, arch_, test_alphabet(6), pre_, tensors_);  // replace existing
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir_.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
  // A model that fails validation is never written.
  auto broken = tensors_;
  broken.erase("fc.weight");
  EXPECT_THROW(save_model(dir_ / "x.ocrm", arch_, test_alphabet(6), pre_, broken), Error);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x.ocrm"));
}

TEST_F(ModelFile, StaleTemporariesOfKilledWritesAreRemoved) {
  // A process that has ended: its temporary file is stale. This process's own,
  // and names that only look similar, are kept.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  const std::string dead = std::to_string(child), alive = std::to_string(::getpid());
  for (const std::string& name :
       std::vector<std::string>{"m.ocrm.tmp." + dead + ".0", "m.ocrm.tmp." + alive + ".3",
                                "notes.tmp.x.1", "m.tmp." + dead, "log.jsonl"})
    write_bytes(dir_ / name, "x");
  EXPECT_EQ(remove_stale_temporary_files(dir_.path()), 1);
  EXPECT_FALSE(std::filesystem::exists(dir_ / ("m.ocrm.tmp." + dead + ".0")));
  EXPECT_TRUE(std::filesystem::exists(dir_ / ("m.ocrm.tmp." + alive + ".3")));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "notes.tmp.x.1"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / ("m.tmp." + dead)));
  EXPECT_EQ(remove_stale_temporary_files(dir_ / "no-such-dir"), 0);
}

TEST_F(ModelFile, Truncated) {
  std::string bytes = read_bytes(path_);
  write_bytes(dir_ / "t.ocrm", bytes.substr(0, bytes.size() / 2));
  expect_load_error(dir_ / "t.ocrm", "past the data section");
  write_bytes(dir_ / "t4.ocrm", bytes.substr(0, 4));
  expect_load_error(dir_ / "t4.ocrm", "too short");
  write_bytes(dir_ / "t0.ocrm", "");
  expect_load_error(dir_ / "t0.ocrm", "too short");
}

TEST_F(ModelFile, HeaderLengthPastEnd) {
  std::string bytes = read_bytes(path_);
  std::uint64_t len = bytes.size();  // > size - 8
  std::memcpy(bytes.data(), &len, 8);
  write_bytes(dir_ / "h.ocrm", bytes);
  expect_load_error(dir_ / "h.ocrm", "runs past the end");
  len = ~0ull;
  std::memcpy(bytes.data(), &len, 8);
  write_bytes(dir_ / "h2.ocrm", bytes);
  expect_load_error(dir_ / "h2.ocrm", "not plausible");
}

TEST_F(ModelFile, MalformedJson) {
  std::string bytes = read_bytes(path_);
  std::uint64_t len = 0;
  std::memcpy(&len, bytes.data(), 8);
  bytes[bytes.rfind('}', 8 + len)] = ']';  // unbalanced brackets
  write_bytes(dir_ / "j.ocrm", bytes);
  expect_load_error(dir_ / "j.ocrm", "not valid JSON");
}

TEST_F(ModelFile, MissingTensor) {
  expect_bad([](RawFile& f) { f.header.erase("rnn.weight_hh_l1_reverse"); },
             "tensor 'rnn.weight_hh_l1_reverse' is missing");
}

TEST_F(ModelFile, WrongShape) {
  expect_bad(
      [](RawFile& f) {
        f.header["fc.bias"]["shape"] = {3, 2};  // same byte count, wrong shape
      },
      "tensor 'fc.bias' has shape [3, 2], expected [6]");
}

TEST_F(ModelFile, WrongDtype) {
  expect_bad(
      [](RawFile& f) {
        auto& e = f.header["fc.bias"];
        e["dtype"] = "I32";  // 4 bytes per element like F32
      },
      "tensor 'fc.bias' has dtype I32, expected F32");
  expect_bad([](RawFile& f) { f.header["fc.bias"]["dtype"] = "Q7"; }, "unknown dtype 'Q7'");
}

TEST_F(ModelFile, OverlappingOffsets) {
  expect_bad(
      [](RawFile& f) {
        auto a = f.header["fc.bias"]["data_offsets"];
        std::size_t n = a[1].get<std::size_t>() - a[0].get<std::size_t>();
        auto b = f.header["c0.bias"]["data_offsets"];
        std::size_t m = b[1].get<std::size_t>() - b[0].get<std::size_t>();
        ASSERT_EQ(n, m);  // both 6 floats
        f.header["fc.bias"]["data_offsets"] = b;
      },
      "overlap");
}

TEST_F(ModelFile, NanWeight) {
  RawFile f = read_raw(path_);
  std::size_t off = f.header["t1.core.weight"]["data_offsets"][0].get<std::size_t>();
  float nan = std::nanf("");
  std::memcpy(f.data.data() + off + 4 * 3, &nan, 4);
  write_raw(dir_ / "nan.ocrm", f);
  expect_load_error(dir_ / "nan.ocrm", "tensor 't1.core.weight' holds a non-finite value");
}

TEST_F(ModelFile, UnknownLayerType) {
  expect_bad(
      [&](RawFile& f) {
        json a = json::parse(meta(f)["ocrcore.architecture"].get<std::string>());
        a["layers"][2]["type"] = "gelu";
        meta(f)["ocrcore.architecture"] = a.dump();
      },
      "unknown layer type 'gelu'");
}

TEST_F(ModelFile, AlphabetSizeMismatch) {
  expect_bad([&](RawFile& f) { meta(f)["ocrcore.alphabet"] = R"(["", "a", "b"])"; },
             "alphabet has 3 entries (blank included) but the output layer has 6 classes");
  expect_bad([&](RawFile& f) { meta(f)["ocrcore.alphabet"] = R"(["", "a", )"; },
             "ocrcore.alphabet is not valid JSON");
}

TEST_F(ModelFile, MetadataProblems) {
  expect_bad([&](RawFile& f) { meta(f).erase("ocrcore.architecture"); },
             "__metadata__ has no 'ocrcore.architecture'");
  expect_bad([&](RawFile& f) { meta(f)["ocrcore.format_version"] = "99"; },
             "format version '99' is not supported");
  expect_bad([&](RawFile& f) { meta(f)["ocrcore.preprocessing"] = R"({"height": 32})"; },
             "must equal the architecture's input_height 16");
}

TEST_F(ModelFile, LineNormalizationIsRecorded) {
  // Written and read back.
  Preprocessing centered = pre_;
  centered.normalization = Preprocessing::Normalization::center_text;
  save_model(dir_ / "centered.ocrm", arch_, test_alphabet(6), centered, tensors_);
  EXPECT_EQ(Model::load(dir_ / "centered.ocrm")->preprocessing().normalization,
            Preprocessing::Normalization::center_text);
  EXPECT_EQ(Model::load(path_)->preprocessing().normalization,
            Preprocessing::Normalization::scale_crop);
  // Files written before the setting existed scale the whole crop, as they did.
  RawFile f = read_raw(path_);
  json pre = json::parse(meta(f)["ocrcore.preprocessing"].get<std::string>());
  ASSERT_TRUE(pre.contains("normalization"));
  pre.erase("normalization");
  meta(f)["ocrcore.preprocessing"] = pre.dump();
  write_raw(dir_ / "old.ocrm", f);
  EXPECT_EQ(Model::load(dir_ / "old.ocrm")->preprocessing().normalization,
            Preprocessing::Normalization::scale_crop);
  expect_bad(
      [&](RawFile& g) {
        meta(g)["ocrcore.preprocessing"] = R"({"height": 16, "normalization": "ocropy"})";
      },
      "'normalization' must be \"scale_crop\" or \"center_text\"");
}

TEST_F(ModelFile, UnusedTensorIsRejectedButBatchNormCounterIsNot) {
  expect_bad(
      [](RawFile& f) {
        f.header["stray.weight"] = {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {0, 0}}};
      },
      "tensor 'stray.weight' is not used");
  RawFile f = read_raw(path_);
  const std::size_t end = f.data.size();
  f.data.append(8, '\0');
  f.header["bn0.num_batches_tracked"] = {
      {"dtype", "I64"}, {"shape", json::array()}, {"data_offsets", {end, end + 8}}};
  write_raw(dir_ / "nbt.ocrm", f);
  EXPECT_NO_THROW(Model::load(dir_ / "nbt.ocrm"));
}

TEST_F(ModelFile, NotAFile) {
  expect_load_error(dir_ / "absent.ocrm", "cannot open");
  expect_load_error(dir_.path(), "not a regular file");
}

// Precision::bf16 files: every weight matrix stored as BF16 (rounded to
// nearest even), biases and batch norm as F32; loading widens them exactly.
TEST_F(ModelFile, Bf16WeightsAreStoredAsBf16) {
  const auto bf16_path = dir_ / "bf16.ocrm";
  save_model(bf16_path, arch_, test_alphabet(6), pre_, tensors_, {}, Precision::bf16);
  RawFile f = read_raw(bf16_path);
  std::size_t matrices = 0;
  for (const auto& [name, t] : tensors_) {
    const bool matrix = t.shape.size() >= 2;
    matrices += matrix;
    EXPECT_EQ(f.header[name]["dtype"], matrix ? "BF16" : "F32") << name;
  }
  ASSERT_GT(matrices, 0u);
  EXPECT_EQ(meta(f)["ocrcore.weights"], "bf16");
  // The data section (this model's header is larger than its weights).
  EXPECT_LT(f.data.size(), read_raw(path_).data.size() * 6 / 10);

  const auto original = Model::load(path_);
  const auto loaded = Model::load(bf16_path);
  EXPECT_EQ(original->stored_weights(), Precision::fp32);
  EXPECT_EQ(loaded->stored_weights(), Precision::bf16);
  for (const auto& [name, t] : original->tensors()) {
    const auto& got = loaded->tensors().at(name).data;
    ASSERT_EQ(got.size(), t.data.size()) << name;
    for (std::size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], t.shape.size() >= 2 ? detail::round_to_bf16(t.data[i]) : t.data[i])
          << name << "[" << i << "]";
  }
  // Such a model asks for bf16 convolutions and fp32 LSTMs by default.
  EXPECT_EQ(default_lstm_precision(*loaded), Precision::fp32);
  EXPECT_EQ(default_conv_precision(*loaded),
            bf16_conv_supported() ? Precision::bf16 : Precision::fp32);
  EXPECT_EQ(default_conv_precision(*loaded, Backend::reference), Precision::fp32);
  EXPECT_EQ(default_conv_precision(*original), fastest_precision());
}

// Rounding to nearest, ties to even; infinities stay, NaN stays NaN, and
// floats past the largest bfloat16 round to infinity.
TEST(Bfloat16, RoundsToNearestEven) {
  using detail::round_to_bf16;
  EXPECT_EQ(round_to_bf16(1.0f), 1.0f);
  EXPECT_EQ(round_to_bf16(1.0f + 0x1p-8f), 1.0f) << "a tie goes to the even neighbour";
  EXPECT_EQ(round_to_bf16(1.0f + 0x3p-8f), 1.0f + 0x4p-8f) << "a tie goes to the even neighbour";
  EXPECT_EQ(round_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 1.0f + 0x1p-7f);
  EXPECT_EQ(round_to_bf16(-2.5f), -2.5f);
  EXPECT_EQ(round_to_bf16(INFINITY), INFINITY);
  EXPECT_EQ(round_to_bf16(-INFINITY), -INFINITY);
  EXPECT_TRUE(std::isnan(round_to_bf16(NAN)));
  EXPECT_EQ(round_to_bf16(std::numeric_limits<float>::max()), INFINITY);
  EXPECT_EQ(detail::to_bf16_bits(1.0f), 0x3f80);
  EXPECT_EQ(detail::from_bf16_bits(0x3f80), 1.0f);
}

// Precision::int8 files: the weights ocrcore runs in int8 stored as I8 with a
// scale per row; loading dequantises them; recognition with int8 precisions
// computes exactly what it computes from the fp32 file.
TEST_F(ModelFile, Int8WeightsAreStoredAsI8WithRowScales) {
  const auto int8_path = dir_ / "int8.ocrm";
  save_model(int8_path, arch_, test_alphabet(6), pre_, tensors_, {{"note", "test"}},
             Precision::int8);
  EXPECT_LT(std::filesystem::file_size(int8_path), std::filesystem::file_size(path_));
  RawFile f = read_raw(int8_path);
  std::vector<std::string> int8_names = {"c3.weight"};
  for (const char* kind : {"ih", "hh"})
    for (const char* layer : {"l0", "l1", "l0_reverse", "l1_reverse"})
      int8_names.push_back(std::string("rnn.weight_") + kind + "_" + layer);
  for (const auto& name : int8_names) {
    EXPECT_EQ(f.header[name]["dtype"], "I8") << name;
    EXPECT_EQ(f.header[name + "_scale"]["dtype"], "F32") << name;
    EXPECT_EQ(f.header[name + "_scale"]["shape"][0], f.header[name]["shape"][0]) << name;
  }
  // The first layer, Tucker factors, biases and the output layer run in fp32.
  for (const char* name : {"c0.weight", "t1.core.weight", "c3.bias", "fc.weight"})
    EXPECT_EQ(f.header[name]["dtype"], "F32") << name;
  EXPECT_EQ(meta(f)["ocrcore.weights"], "int8");

  const auto original = Model::load(path_);
  const auto quantized = Model::load(int8_path);
  EXPECT_EQ(quantized->metadata().at("note"), "test");
  for (const auto& [name, t] : original->tensors()) {
    const auto& q = quantized->tensors().at(name).data;
    ASSERT_EQ(q.size(), t.data.size()) << name;
    if (std::find(int8_names.begin(), int8_names.end(), name) == int8_names.end()) {
      EXPECT_EQ(q, t.data) << name;
      continue;
    }
    float largest = 0, worst = 0;
    for (std::size_t i = 0; i < q.size(); ++i) {
      largest = std::max(largest, std::abs(t.data[i]));
      worst = std::max(worst, std::abs(q[i] - t.data[i]));
    }
    EXPECT_GT(worst, 0.0f) << name << " was quantised";
    EXPECT_LE(worst, largest / 254 * 1.001f) << name << ": within half a step of the largest row";
  }

  RecognizerOptions options;
  options.threads = 1;
  options.lstm_precision = Precision::int8;
  if (!int8_lstm_supported()) options.isa = Isa::generic;
  if (int8_conv_supported()) options.conv_precision = Precision::int8;
  std::mt19937 rng(3);
  const std::vector<LineTensor> lines = {random_line(16, 40, rng), random_line(16, 77, rng),
                                         random_line(16, 5, rng)};
  const auto want = Recognizer(original, options).forward(lines);
  const auto got = Recognizer(quantized, options).forward(lines);
  for (std::size_t i = 0; i < lines.size(); ++i)
    EXPECT_EQ(got[i].values, want[i].values) << "line " << i;

  // Broken I8 entries name the tensor.
  RawFile missing = f;
  missing.header.erase("c3.weight_scale");
  write_raw(dir_ / "bad.ocrm", missing);
  expect_load_error(dir_ / "bad.ocrm", "'c3.weight_scale' (its scale per row) is missing");
  RawFile reshaped = f;
  reshaped.header["c3.weight_scale"]["shape"] = {2, 4};  // the same 8 values
  write_raw(dir_ / "bad.ocrm", reshaped);
  expect_load_error(dir_ / "bad.ocrm", "expected [8] (one scale per row of 'c3.weight')");
}
