// ocr-convert as a user runs it.

#include <gtest/gtest.h>

#include <cstring>

#include "ocrcore/ocrcore.hpp"
#include "test_util.hpp"

namespace ocrcore {
namespace {

struct Run {
  int exit_code;
  std::string err;
};

Run convert(const std::string& args, const test::TempDir& dir) {
  const auto err = dir / "stderr.txt";
  const int status =
      std::system((std::string(OCR_CONVERT_EXE) + " " + args + " 2>" + err.string()).c_str());
  return {WEXITSTATUS(status), test::read_bytes(err)};
}

TEST(OcrConvert, OnnxToOcrmAndBack) {
  test::TempDir dir;
  const std::string onnx = (test::fixtures_dir() / "torch_crnn.onnx").string();
  auto r = convert(onnx + " " + (dir / "m.ocrm").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--alphabet"), std::string::npos) << r.err;
  test::write_bytes(dir / "alphabet.txt", "a\nb\nc\nd\ne\nf\n");
  r = convert(
      onnx + " " + (dir / "m.ocrm").string() + " --alphabet " + (dir / "alphabet.txt").string(),
      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto model = Model::load(dir / "m.ocrm");
  EXPECT_EQ(model->num_classes(), 7);
  r = convert((dir / "m.ocrm").string() + " " + (dir / "back.onnx").string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The exported file carries the alphabet: no --alphabet needed now.
  r = convert((dir / "back.onnx").string() + " " + (dir / "again.ocrm").string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Model::load(dir / "again.ocrm")->alphabet(), model->alphabet());
}

// int8 ONNX: calibration lines are required; a bad one among them is named
// and skipped, the rest calibrate.
TEST(OcrConvert, Int8OnnxIsCalibratedOnTheGivenLines) {
  test::TempDir dir;
  const auto samples = std::filesystem::path(OCRCORE_SOURCE_DIR) / "models/samples";
  const std::string model =
      (std::filesystem::path(OCRCORE_SOURCE_DIR) / "models/compact-printed.ocrm").string();
  const std::string out = (dir / "c8.onnx").string();
  auto r = convert(model + " " + out + " --quantize int8", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--calibrate"), std::string::npos) << r.err;
  r = convert(model + " " + (dir / "c.ocrm").string() + " --calibrate " + samples.string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--calibrate applies to int8 ONNX"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  std::filesystem::create_directory(dir / "lines");
  std::filesystem::copy_file(samples / "000001.png", dir / "lines/a.png");
  std::filesystem::copy_file(samples / "000002.png", dir / "lines/b.png");
  test::write_bytes(dir / "lines/broken.png", "not a png");
  r = convert(model + " " + out + " --quantize int8 --calibrate " + (dir / "lines").string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("broken.png"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("calibrated on 2 lines"), std::string::npos) << r.err;
  EXPECT_GT(std::filesystem::file_size(out), 0u);
}

// bf16: the bundled compact model at about half its size, stored as BF16,
// read by ocr-infer with bf16 convolutions by default (where the CPU has
// them) as the fp32 file reads; refused for ONNX output.
TEST(OcrConvert, Bf16ModelIsHalfTheSizeAndReadsTheSamples) {
  test::TempDir dir;
  const auto root = std::filesystem::path(OCRCORE_SOURCE_DIR);
  const std::string model = (root / "models/compact-printed.ocrm").string();
  const auto out = dir / "c16.ocrm";
  auto r = convert(model + " " + (dir / "c16.onnx").string() + " --quantize bf16", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bf16 applies to .ocrm"), std::string::npos) << r.err;
  r = convert(model + " " + out.string() + " --quantize bf16", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(std::filesystem::file_size(out), std::filesystem::file_size(model) * 55 / 100);
  const auto loaded = Model::load(out);
  EXPECT_EQ(loaded->stored_weights(), Precision::bf16);
  RecognizerOptions options;
  options.conv_precision = default_conv_precision(*loaded);
  options.lstm_precision = default_lstm_precision(*loaded);
  Recognizer bf16(loaded, options);
  Recognizer fp32(Model::load(model), {});
  for (const char* name : {"000001", "000002", "000003"}) {
    const auto image = load_image(root / "models/samples" / (std::string(name) + ".png"));
    EXPECT_EQ(bf16.recognize(image).text, fp32.recognize(image).text) << name;
  }
}

TEST(OcrConvert, StateDictNamesEveryMissingOrMisShapedTensor) {
  test::TempDir dir;
  const Architecture arch = test::small_crnn(16, 9);
  test::write_bytes(dir / "arch.json", arch.to_json());
  auto model = test::random_model(arch, 2);
  // A state_dict as safetensors with one tensor missing and one mis-shaped.
  TensorMap tensors = model->tensors();
  const std::string dropped = tensors.begin()->first;
  tensors.erase(tensors.begin());
  tensors["fc.bias"].shape = {1, static_cast<std::int64_t>(tensors["fc.bias"].data.size())};
  std::string header = "{";
  std::string data;
  bool first = true;
  for (const auto& [name, t] : tensors) {
    const std::size_t begin = data.size();
    data.append(reinterpret_cast<const char*>(t.data.data()), t.data.size() * 4);
    std::string shape;
    for (auto d : t.shape)
      shape += (shape.empty() ? "" : ",") + std::to_string(d);
    header += std::string(first ? "" : ",") + "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[" +
              shape + "],\"data_offsets\":[" + std::to_string(begin) + "," +
              std::to_string(data.size()) + "]}";
    first = false;
  }
  header += "}";
  std::string file(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(file.data(), &n, 8);
  test::write_bytes(dir / "sd.safetensors", file + header + data);
  test::write_bytes(dir / "alphabet.txt", "a\nb\nc\nd\ne\nf\ng\nh\n");
  auto r =
      convert((dir / "sd.safetensors").string() + " " + (dir / "m.ocrm").string() + " --arch " +
                  (dir / "arch.json").string() + " --alphabet " + (dir / "alphabet.txt").string(),
              dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing tensor " + dropped), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tensor fc.bias has shape [1, 9]"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ocrcore
