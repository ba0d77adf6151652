// ocr-infer as a user runs it: exit codes, outputs, bad inputs.

#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::test;

namespace {

struct Run {
  int exit_code;
  std::string out, err;
};

// `env`: VAR=value assignments put before the command.
Run run(const std::string& args, const TempDir& dir, const std::string& stdin_text = "",
        const std::string& env = "") {
  auto out = dir / "stdout.txt", err = dir / "stderr.txt", in = dir / "stdin.txt";
  write_bytes(in, stdin_text);
  std::string cmd = env + " " + std::string(OCR_INFER_EXE) + " " + args + " <" + in.string() +
                    " >" + out.string() + " 2>" + err.string();
  int status = std::system(cmd.c_str());
  return {WEXITSTATUS(status), read_bytes(out), read_bytes(err)};
}

std::string model_arg() {
  return "--model " + (fixtures_dir() / "torch_crnn.ocrm").string() + " -q";
}

void write_line_image(const std::filesystem::path& p, int w) {
  Image img(w, 20, 250);
  for (int x = 2; x < w - 2; x += 3)
    img.at(x, 10) = 0;
  save_png(p, img);
}

// The first two columns of --format tsv output.
std::string path_and_text(const std::string& tsv) {
  std::istringstream in(tsv);
  std::string line, out;
  while (std::getline(in, line))
    out += line.substr(0, line.find('\t', line.find('\t') + 1)) + "\n";
  return out;
}

class OcrInfer : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "lines");
    write_line_image(dir_ / "lines/a.png", 60);
    write_bytes(dir_ / "lines/a.gt.txt", "abc\n");
    write_line_image(dir_ / "lines/b.bin.png", 90);
    write_bytes(dir_ / "lines/b.gt.txt", "de f\n");
  }
  TempDir dir_;
};

}  // namespace

TEST_F(OcrInfer, DirectoryWithGroundTruth) {
  auto r = run(model_arg() + " --format tsv " + (dir_ / "lines").string(), dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("a.png\t"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("b.bin.png\t"), std::string::npos);
  EXPECT_NE(r.err.find("2 lines, 2 recognised, 0 failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CER "), std::string::npos);
  EXPECT_NE(r.err.find("/7 chars"), std::string::npos) << r.err;  // "abc" + "de f"
}

TEST_F(OcrInfer, ErrorAnalysis) {
  const auto json_path = dir_ / "errors.json";
  auto r = run(model_arg() + " --errors 3 --errors-json " + json_path.string() + " " +
                   (dir_ / "lines").string(),
               dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("most frequent errors ("), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("worst lines:"), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(read_bytes(json_path));
  // Every edit of the CER's count is in the report.
  std::size_t counted = 0;
  for (const auto& c : j["confusions"])
    counted += c["count"].get<std::size_t>();
  EXPECT_EQ(counted, j["edits"].get<std::size_t>());
  const auto at = r.err.find("CER ");
  ASSERT_NE(at, std::string::npos);
  const auto open = r.err.find('(', at), slash = r.err.find('/', open);
  EXPECT_EQ(std::stoul(r.err.substr(open + 1, slash - open - 1)), counted);
  EXPECT_EQ(j["worst_lines"].size(), 2u);  // a random-ish model misreads both lines
}

TEST_F(OcrInfer, LanguageModelOptions) {
  const std::string lm =
      (std::filesystem::path(OCRCORE_SOURCE_DIR) / "models/printed-english.ocrlm").string();
  auto r = run(model_arg() + " --lm " + lm + " --format tsv " + (dir_ / "lines").string(), dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("2 lines, 2 recognised"), std::string::npos) << r.err;
  // The language model needs the beam decoder; a bad file is a usage error naming it.
  r = run(model_arg() + " --lm " + lm + " --decoder greedy " + (dir_ / "lines").string(), dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--lm needs --decoder beam"), std::string::npos) << r.err;
  write_bytes(dir_ / "broken.arpa", "\\data\\\nngram 1=3\n");
  r = run(
      model_arg() + " --lm " + (dir_ / "broken.arpa").string() + " " + (dir_ / "lines").string(),
      dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("broken.arpa"), std::string::npos) << r.err;

  // The weight and bonus `ocr-lm tune` records in the model are read for --lm
  // (a malformed one is named), and not needed when both are given.
  auto model = Model::load(fixtures_dir() / "torch_crnn.ocrm");
  save_model(dir_ / "mistuned.ocrm", model->architecture(), model->alphabet(),
             model->preprocessing(), model->tensors(), {{kMetadataLmWeight, "heavy"}});
  const std::string mistuned = "-q --model " + (dir_ / "mistuned.ocrm").string() + " --lm " + lm +
                               " " + (dir_ / "lines").string();
  r = run(mistuned, dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("mistuned.ocrm: metadata lm_weight is 'heavy'"), std::string::npos) << r.err;
  r = run(mistuned + " --lm-weight 0.3 --lm-bonus 1", dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(OcrInfer, OneBadImageIsReportedAndTheRestProcessed) {
  write_bytes(dir_ / "lines/broken.png", "\x89PNG\r\n\x1a\n garbage");
  auto r = run(model_arg() + " --format jsonl " + (dir_ / "lines").string(), dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("broken.png: cannot decode PNG"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("3 lines, 2 recognised, 1 failed"), std::string::npos) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.contains("text"));
    EXPECT_TRUE(j.contains("chars"));
    EXPECT_TRUE(j.contains("gt"));
    ++n;
  }
  EXPECT_EQ(n, 2);
}

TEST_F(OcrInfer, ImagesOverThePixelLimitAreSkipped) {
  // A tiny file claiming 100000 x 100000 pixels is refused from its header;
  // a lower --max-image-pixels refuses the real lines too.
  write_bytes(dir_ / "lines/huge.pgm", std::string("P5\n100000 100000\n255\n") + "0123");
  auto r = run(model_arg() + " " + (dir_ / "lines").string(), dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("huge.pgm: image is 100000x100000 pixels, more than the limit"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("3 lines, 2 recognised, 1 failed"), std::string::npos) << r.err;
  r = run(model_arg() + " --max-image-pixels 100 " + (dir_ / "lines").string(), dir_);
  EXPECT_NE(r.err.find("3 lines, 0 recognised, 3 failed"), std::string::npos) << r.err;
}

TEST_F(OcrInfer, ListFileStdinAndOutputFile) {
  write_bytes(dir_ / "list.txt", "lines/a.png\n");
  auto out = dir_ / "result.tsv";
  auto r = run(
      model_arg() + " --format tsv -o " + out.string() + " @" + (dir_ / "list.txt").string() + " -",
      dir_, (dir_ / "lines/b.bin.png").string() + "\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  std::string written = read_bytes(out);
  EXPECT_NE(written.find("a.png\t"), std::string::npos);
  EXPECT_NE(written.find("b.bin.png\t"), std::string::npos);
}

TEST_F(OcrInfer, GroundTruthNotUtf8) {
  write_bytes(dir_ / "lines/a.gt.txt", "ab\xff\n");
  auto r = run(model_arg() + " " + (dir_ / "lines").string(), dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("a.gt.txt: ground truth is not valid UTF-8"), std::string::npos) << r.err;
}

TEST_F(OcrInfer, UsageAndModelErrors) {
  auto r = run(model_arg() + " " + (dir_ / "missing").string(), dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no such file or directory"), std::string::npos);

  std::filesystem::create_directories(dir_ / "empty");
  r = run(model_arg() + " " + (dir_ / "empty").string(), dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("directory holds no images"), std::string::npos);

  write_bytes(dir_ / "bad.ocrm", "not a model");
  r = run("--model " + (dir_ / "bad.ocrm").string() + " " + (dir_ / "lines").string(), dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.ocrm: header length"), std::string::npos) << r.err;

  r = run(model_arg() + " --decoder nonsense " + (dir_ / "lines").string(), dir_);
  EXPECT_EQ(r.exit_code, 2);

  r = run(model_arg(), dir_);  // no inputs
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no input images"), std::string::npos) << r.err;

  r = run("--version", dir_);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("ocrcore"), std::string::npos);
}

TEST_F(OcrInfer, BatchesByWidthButWritesInInputOrder) {
  // Widths out of order, so that width-sorted batches of 2 mix the files up.
  std::filesystem::create_directories(dir_ / "mixed");
  const int widths[] = {200, 40, 130, 60, 300, 90};
  std::string expected;
  for (int i = 0; i < 6; ++i) {
    const std::string name = "0" + std::to_string(i) + ".png";
    write_line_image(dir_ / "mixed" / name, widths[i]);
    auto alone = run(model_arg() + " --format tsv -b 1 " + (dir_ / "mixed" / name).string(), dir_);
    ASSERT_EQ(alone.exit_code, 0) << alone.err;
    expected += alone.out;
  }
  auto r = run(model_arg() + " --format tsv -b 2 " + (dir_ / "mixed").string(), dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Same order, and the same path and text as each line alone (the printed
  // confidence may differ in its last digit between batch shapes).
  EXPECT_EQ(path_and_text(r.out), path_and_text(expected));
}

TEST_F(OcrInfer, KernelPathOption) {
  // (fp32 pinned: the default precision, auto, is int8 on avx512 with VNNI.)
  const std::string fp32 = " --lstm-precision fp32 --conv-precision fp32 ";
  auto generic =
      run(model_arg() + fp32 + "--format tsv --isa generic " + (dir_ / "lines").string(), dir_);
  EXPECT_EQ(generic.exit_code, 0) << generic.err;
  auto automatic = run(model_arg() + fp32 + "--format tsv " + (dir_ / "lines").string(), dir_);
  EXPECT_EQ(generic.out, automatic.out);

  auto r = run(model_arg() + " " + (dir_ / "lines").string(), dir_, "", "OCRCORE_ISA=bogus");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown kernel path 'bogus'"), std::string::npos) << r.err;
  r = run(model_arg() + " --isa sse9 " + (dir_ / "lines").string(), dir_);
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(OcrInfer, PrecisionOption) {
  const std::string lines = (dir_ / "lines").string();
  // The generic path has the int8 step on every CPU.
  auto int8 = run(model_arg() + " --format tsv --isa generic --lstm-precision int8 " + lines, dir_);
  EXPECT_EQ(int8.exit_code, 0) << int8.err;
  EXPECT_FALSE(int8.out.empty());
  auto env = run(model_arg() + " --format tsv --isa generic " + lines, dir_, "",
                 "OCRCORE_LSTM_PRECISION=int8");
  EXPECT_EQ(env.exit_code, 0) << env.err;
  EXPECT_EQ(env.out, int8.out);
  auto r = run(model_arg() + " --lstm-precision int4 " + lines, dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("fp32, int8 or bf16"), std::string::npos) << r.err;
  r = run(model_arg() + " --lstm-precision bf16 " + lines, dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no bf16 LSTM"), std::string::npos) << r.err;
  const auto isas = supported_isas();
  if (std::find(isas.begin(), isas.end(), Isa::avx2) != isas.end() &&
      !int8_lstm_supported(Isa::avx2)) {
    r = run(model_arg() + " --isa avx2 --lstm-precision int8 " + lines, dir_);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("VNNI"), std::string::npos) << r.err;
  }
  // int8 convolutions: VNNI or a clear refusal.
  auto conv = run(model_arg() + " --format tsv --conv-precision int8 " + lines, dir_);
  if (int8_conv_supported()) {
    EXPECT_EQ(conv.exit_code, 0) << conv.err;
    EXPECT_FALSE(conv.out.empty());
    env = run(model_arg() + " --format tsv " + lines, dir_, "", "OCRCORE_CONV_PRECISION=int8");
    EXPECT_EQ(env.out, conv.out);
  } else {
    EXPECT_EQ(conv.exit_code, 2);
    EXPECT_NE(conv.err.find("VNNI"), std::string::npos) << conv.err;
  }
  // bf16 convolutions: AVX-512 BF16 or a clear refusal.
  r = run(model_arg() + " --format tsv --conv-precision bf16 " + lines, dir_);
  if (bf16_conv_supported()) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(r.out.empty());
  } else {
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("AVX-512 BF16"), std::string::npos) << r.err;
  }
  // The default, auto: int8 only where it runs on VNNI; fp32 on the reference
  // backend and the other kernel paths, which therefore still run by default.
  EXPECT_EQ(fastest_precision(Backend::reference), Precision::fp32);
  EXPECT_EQ(fastest_precision(Backend::onednn, Isa::generic), Precision::fp32);
  EXPECT_EQ(fastest_precision(Backend::onednn) == Precision::int8,
            int8_conv_supported() && resolve_isa(Isa::automatic) == Isa::avx512);
  for (const char* options : {" --backend reference ", " --isa generic "}) {
    r = run(model_arg() + options + lines, dir_);
    EXPECT_EQ(r.exit_code, 0) << options << r.err;
  }
}

TEST_F(OcrInfer, ModelInfo) {
  auto r = run(model_arg() + " --info", dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("input height: 16, classes: 7"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FLOPs per 16x512 line"), std::string::npos);
  EXPECT_NE(r.out.find("generator: tests/fixtures/make_torch_parity.py"), std::string::npos);
}

TEST_F(OcrInfer, BeamDecoderAndReferenceBackend) {
  auto r = run(model_arg() + " --decoder beam --beam-width 4 --backend reference -b 1 " +
                   (dir_ / "lines").string(),
               dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("reference backend"), std::string::npos);
}
