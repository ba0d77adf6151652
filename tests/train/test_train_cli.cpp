// ocr-synth, ocr-train and ocr-lm as a user runs them: outputs, logs, exit codes,
// bad inputs, checkpoints, exact resumption and interruption by a signal.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "ocrcore/ocrcore.hpp"
#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::test;

namespace {

struct Run {
  int exit_code;
  std::string out, err;
};

Run run(const std::string& exe, const std::string& args, const TempDir& dir) {
  auto out = dir / "stdout.txt", err = dir / "stderr.txt";
  const std::string cmd = exe + " " + args + " >" + out.string() + " 2>" + err.string();
  const int status = std::system(cmd.c_str());
  return {WEXITSTATUS(status), read_bytes(out), read_bytes(err)};
}

const std::string kSynth = OCR_SYNTH_EXE, kTrain = OCR_TRAIN_EXE, kLm = OCR_LM_EXE;
const std::string kFonts = "/usr/share/fonts/truetype/dejavu";

class TrainCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kFonts + "/DejaVuSans.ttf"))
      GTEST_SKIP() << "DejaVu fonts not installed";
    write_bytes(dir_ / "arch.json", test::kTinyLineArchitecture);
    auto r =
        run(kSynth,
            "-q --corpus " + std::string(OCRCORE_FIXTURES_DIR) + "/corpus.txt --fonts " + kFonts +
                " -o " + (dir_ / "data").string() + " --count 24 --height 24 --max-chars 12",
            dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string train_args(const std::string& run_dir, int iterations) const {
    return "--arch " + (dir_ / "arch.json").string() + " --train " + (dir_ / "data").string() +
           " --val " + (dir_ / "data").string() + " --run-dir " + (dir_ / run_dir).string() +
           " --iterations " + std::to_string(iterations) +
           " -b 4 --validate-every 4 --checkpoint-every 2 --log-every 1" +
           " -t 1 --loader-threads 1 --seed 3";
  }
  // An order-3 model of the test corpus; ocr-lm's exit code.
  int build_lm(const std::filesystem::path& arpa) const {
    return run(kLm,
               std::string(OCRCORE_FIXTURES_DIR) + "/corpus.txt -o " + arpa.string() +
                   " --order 3 --min-count 1",
               dir_)
        .exit_code;
  }
  TempDir dir_;
};

TEST_F(TrainCli, SynthWritesNumberedPairs) {
  EXPECT_TRUE(std::filesystem::exists(dir_ / "data/000001.png"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "data/000024.gt.txt"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data/000025.png"));
}

TEST_F(TrainCli, SynthBadInputsGiveClearErrors) {
  auto r = run(kSynth, "-q --corpus /no/such/corpus.txt -o " + (dir_ / "x").string(), dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/no/such/corpus.txt"), std::string::npos) << r.err;
  r = run(kSynth,
          "-q --corpus " + std::string(OCRCORE_FIXTURES_DIR) + "/corpus.txt --fonts " +
              (dir_ / "data").string() + " -o " + (dir_ / "x").string(),
          dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no usable font"), std::string::npos) << r.err;
}

TEST_F(TrainCli, SynthScanLikeOptions) {
  const std::string common = "-q --corpus " + std::string(OCRCORE_FIXTURES_DIR) +
                             "/corpus.txt --fonts " + kFonts + " --count 4 --height 0 -o " +
                             (dir_ / "scan").string();
  auto r = run(kSynth, common + " --binarized 1 --dpi 300 300", dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "scan/000004.png"));
  r = run(kSynth, common + " --dpi 400 200", dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--dpi: need 50 <= MIN <= MAX"), std::string::npos) << r.err;
  r = run(kSynth, common + " --point-size 2 12", dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--point-size"), std::string::npos) << r.err;
}

TEST_F(TrainCli, LmBuildsAModelTheDecoderReads) {
  const auto arpa = dir_ / "lm.arpa";
  auto r = run(kLm,
               std::string(OCRCORE_FIXTURES_DIR) + "/corpus.txt -o " + arpa.string() +
                   " --order 4 --min-count 1",
               dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("order 4"), std::string::npos) << r.err;
  EXPECT_EQ(LanguageModel::load(arpa)->order(), 4);
  r = run(kLm, "/no/such/text.txt -o " + (dir_ / "x.arpa").string(), dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/no/such/text.txt"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x.arpa"));
  r = run(kLm, std::string(OCRCORE_FIXTURES_DIR) + "/corpus.txt -o x.arpa --order 9", dir_);
  EXPECT_NE(r.exit_code, 0);
}

TEST_F(TrainCli, LmCompileWritesABinaryThatScoresAsTheArpa) {
  const auto arpa = dir_ / "lm.arpa", binary = dir_ / "lm.ocrlm";
  ASSERT_EQ(build_lm(arpa), 0);
  auto r = run(kLm, "compile " + arpa.string() + " -o " + binary.string(), dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("order 3"), std::string::npos) << r.err;
  const auto text = LanguageModel::load(arpa), compiled = LanguageModel::load(binary);
  ASSERT_EQ(compiled->ngram_count(), text->ngram_count());
  ASSERT_EQ(compiled->characters(), text->characters());
  auto a = text->begin_state(), b = compiled->begin_state();
  for (const char* character : {"t", "h", "e", " ", "c", "a", "t", "q"}) {
    const int token = text->token(character);
    ASSERT_EQ(compiled->token(character), token);
    EXPECT_EQ(text->score(a, token, &a), compiled->score(b, token, &b)) << character;
    EXPECT_EQ(a, b);
  }
  EXPECT_EQ(text->score(a, LanguageModel::kEnd, &a), compiled->score(b, LanguageModel::kEnd, &b));
  // A file that is not a language model: named error, nothing written.
  write_bytes(dir_ / "junk.arpa", "not a model\n");
  r = run(kLm, "compile " + (dir_ / "junk.arpa").string() + " -o " + (dir_ / "j.ocrlm").string(),
          dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("junk.arpa"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "j.ocrlm"));
}

TEST_F(TrainCli, LmTuneRecordsTheBestPointInACopyOfTheModel) {
  ASSERT_EQ(run(kTrain, train_args("run", 4), dir_).exit_code, 0);
  const auto arpa = dir_ / "lm.arpa";
  ASSERT_EQ(build_lm(arpa), 0);
  const std::string tune = "tune -q -t 2 --model " + (dir_ / "run/best.ocrm").string() + " --lm " +
                           arpa.string() + " " + (dir_ / "data").string() +
                           " --weights 0 0.5 --bonuses 0 1";
  auto r = run(kLm,
               tune + " --write-model " + (dir_ / "tuned.ocrm").string() + " --json " +
                   (dir_ / "grid.json").string(),
               dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("24 validation lines"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("greedy, no language model: CER"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<- best"), std::string::npos) << r.out;
  auto grid = nlohmann::json::parse(read_bytes(dir_ / "grid.json"));
  ASSERT_EQ(grid.at("grid").size(), 4u);
  auto tuned = Model::load(dir_ / "tuned.ocrm");
  const auto options = tuned_language_model_options(*tuned);
  EXPECT_FLOAT_EQ(options.weight, grid.at("best").at("weight").get<float>());
  EXPECT_FLOAT_EQ(options.bonus, grid.at("best").at("bonus").get<float>());
  EXPECT_TRUE(tuned->metadata().count("lm_tuning"));
  auto original = Model::load(dir_ / "run/best.ocrm");
  for (const auto& [name, t] : original->tensors())
    EXPECT_EQ(t.data, tuned->tensors().at(name).data) << name;

  // Lines without ground truth are skipped by name; none left is an error.
  std::filesystem::create_directories(dir_ / "bare");
  std::filesystem::copy_file(dir_ / "data/000001.png", dir_ / "bare/000001.png");
  r = run(kLm,
          "tune -q --model " + (dir_ / "run/best.ocrm").string() + " --lm " + arpa.string() + " " +
              (dir_ / "bare").string() + " --write-model " + (dir_ / "x.ocrm").string(),
          dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bare/000001.png: no ground truth"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no validation line with ground truth"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x.ocrm"));
  r = run(kLm, "", dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("give a corpus and -o FILE"), std::string::npos) << r.err;
}

TEST_F(TrainCli, TrainsWritesModelsLogAndCheckpoint) {
  auto r = run(kTrain, train_args("run", 8), dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("validation CER"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("lines/s"), std::string::npos) << r.err;
  for (const char* f : {"run/best.ocrm", "run/last.ocrm", "run/checkpoint.ckpt", "run/log.jsonl"})
    EXPECT_TRUE(std::filesystem::exists(dir_ / f)) << f;
  auto model = Model::load(dir_ / "run/best.ocrm");
  EXPECT_EQ(model->num_classes(), 96);
  std::ifstream log(dir_ / "run/log.jsonl");
  std::set<std::string> events;
  for (std::string line; std::getline(log, line);)
    events.insert(nlohmann::json::parse(line).at("event").get<std::string>());
  for (const char* e : {"train", "validation", "checkpoint", "done"})
    EXPECT_TRUE(events.count(e)) << e;
}

TEST_F(TrainCli, ResumeContinuesExactly) {
  ASSERT_EQ(run(kTrain, train_args("straight", 8), dir_).exit_code, 0);
  // Stops before the first validation (no best CER yet in the checkpoint).
  auto first = run(kTrain, train_args("resumed", 8) + " --stop-at 3", dir_);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("stopped at iteration 3"), std::string::npos) << first.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "resumed/last.ocrm"));
  auto second = run(kTrain, train_args("resumed", 8) + " --resume", dir_);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("resumed from"), std::string::npos) << second.err;
  auto a = Model::load(dir_ / "straight/last.ocrm"), b = Model::load(dir_ / "resumed/last.ocrm");
  for (const auto& [name, t] : a->tensors())
    EXPECT_EQ(t.data, b->tensors().at(name).data) << name;
}

TEST_F(TrainCli, SigtermWritesACheckpoint) {
  const auto script = dir_ / "interrupt.sh";
  // ocr-train's stderr is kept: a failure shows why it ended as it did.
  write_bytes(script, kTrain + " " + train_args("sig", 100000) + " 2>" +
                          (dir_ / "train-stderr.txt").string() + " & pid=$!\n" +
                          "for i in $(seq 300); do grep -q '\"train\"' " +
                          (dir_ / "sig/log.jsonl").string() +
                          " 2>/dev/null && break; sleep 0.1; done\n"
                          "kill -TERM $pid; wait $pid; echo $? > " +
                          (dir_ / "code.txt").string() + "\n");
  ASSERT_EQ(std::system(("bash " + script.string()).c_str()), 0);
  EXPECT_EQ(read_bytes(dir_ / "code.txt"), "130\n") << read_bytes(dir_ / "train-stderr.txt");
  EXPECT_TRUE(std::filesystem::exists(dir_ / "sig/checkpoint.ckpt"));
}

TEST_F(TrainCli, BadInputsGiveClearErrors) {
  auto r = run(kTrain,
               "--arch " + (dir_ / "arch.json").string() + " --alphabet " +
                   (dir_ / "arch.json").string() + " --train " + (dir_ / "data").string() +
                   " --run-dir " + (dir_ / "bad").string(),
               dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("classes but the alphabet has"), std::string::npos) << r.err;
  r = run(kTrain,
          "--arch " + (dir_ / "arch.json").string() + " --train /no/such/dir --run-dir " +
              (dir_ / "bad").string(),
          dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/no/such/dir"), std::string::npos) << r.err;
}

}  // namespace
