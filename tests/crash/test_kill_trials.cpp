// Crash safety of the tools as a user's machine meets it: ocr-train,
// ocr-compress (every stage) and ocr-infer --output killed with SIGKILL at
// random moments. After every kill each output file is absent or complete and
// valid (models load, JSON and JSON-lines parse, the output equals an
// uninterrupted run's), and runs resumed after kills end with exactly the
// results of an uninterrupted run. A disk that fills up gives a clear error
// and leaves no partial file. The seed of the kill moments is printed.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "ocrcore/ocrcore.hpp"
#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::test;
namespace fs = std::filesystem;

namespace {

const std::string kSynth = OCR_SYNTH_EXE, kTrain = OCR_TRAIN_EXE, kCompress = OCR_COMPRESS_EXE,
                  kInfer = OCR_INFER_EXE;
const std::string kFonts = "/usr/share/fonts/truetype/dejavu";

struct Outcome {
  int exit_code = -1;  // when it exited
  bool killed = false;
  double seconds = 0;
};

// Runs a tool (stdout and stderr to `log`); with `kill_after` >= 0 seconds it
// is sent SIGKILL then if still running.
Outcome run_tool(const std::vector<std::string>& args, const fs::path& log,
                 double kill_after = -1) {
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  int status = 0;
  if (kill_after >= 0) {
    while (elapsed() < kill_after) {
      if (::waitpid(pid, &status, WNOHANG) == pid)
        return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, false, elapsed()};
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::kill(pid, SIGKILL);
  }
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1,
          WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, elapsed()};
}

bool is_temporary(const fs::path& p) {
  return p.filename().string().find(".tmp.") != std::string::npos;
}

// Every output file under `dir` is complete and valid; temporary files of a
// killed atomic write are not outputs (counted in `temporaries`).
void expect_outputs_valid(const fs::path& dir, const std::string& when, int* temporaries) {
  if (!fs::exists(dir)) return;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const fs::path& p = e.path();
    if (is_temporary(p)) {
      ++*temporaries;
      continue;
    }
    const std::string ext = p.extension().string();
    if (ext == ".ocrm") {
      EXPECT_NO_THROW(Model::load(p)) << when << ": " << p;
    } else if (ext == ".json") {
      EXPECT_TRUE(nlohmann::json::accept(read_bytes(p))) << when << ": " << p;
    } else if (ext == ".jsonl") {
      const std::string text = read_bytes(p);
      EXPECT_TRUE(text.empty() || text.back() == '\n') << when << ": " << p << " ends mid-line";
      std::istringstream lines(text);
      std::string line;
      int n = 0;
      while (std::getline(lines, line)) {
        ++n;
        EXPECT_TRUE(nlohmann::json::accept(line)) << when << ": " << p << " line " << n;
      }
    }
  }
}

void expect_same_tensors(const fs::path& a, const fs::path& b, const std::string& what) {
  auto x = Model::load(a), y = Model::load(b);
  ASSERT_EQ(x->tensors().size(), y->tensors().size()) << what;
  for (const auto& [name, t] : x->tensors())
    EXPECT_EQ(t.data, y->tensors().at(name).data) << what << ": " << name;
}

class KillTrials : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kFonts + "/DejaVuSans.ttf")) GTEST_SKIP() << "DejaVu fonts not installed";
    write_bytes(dir_ / "arch.json", kTinyLineArchitecture);
    const Outcome o =
        run_tool({kSynth, "-q", "--corpus", std::string(OCRCORE_FIXTURES_DIR) + "/corpus.txt",
                  "--fonts", kFonts, "-o", (dir_ / "data").string(), "--count", "32", "--height",
                  "16", "--max-chars", "14", "--seed", "5"},
                 dir_ / "synth.log");
    ASSERT_EQ(o.exit_code, 0) << read_bytes(dir_ / "synth.log");
    const char* seed = std::getenv("OCRCORE_KILL_SEED");
    seed_ = seed ? static_cast<unsigned>(std::stoul(seed)) : std::random_device{}();
    rng_.seed(seed_);
    std::printf("kill moments: seed %u (OCRCORE_KILL_SEED reproduces them)\n", seed_);
  }
  // An @list of the rendered lines twenty times over (640 lines).
  void write_repeated_list(const fs::path& list_path) const {
    std::ofstream list(list_path);
    for (int r = 0; r < 20; ++r)
      for (const auto& e : fs::directory_iterator(dir_ / "data"))
        if (e.path().extension() == ".png") list << e.path().string() << "\n";
  }
  std::vector<std::string> train_args(const fs::path& run_dir) const {
    return {kTrain,
            "--arch",
            (dir_ / "arch.json").string(),
            "--train",
            (dir_ / "data").string(),
            "--val",
            (dir_ / "data").string(),
            "--run-dir",
            run_dir.string(),
            "--iterations",
            "80",
            "-b",
            "4",
            "--validate-every",
            "20",
            "--checkpoint-every",
            "3",
            "--log-every",
            "5",
            "-t",
            "1",
            "--loader-threads",
            "1",
            "--seed",
            "3"};
  }
  // Kills a run at random moments up to `kills` times (re-running it with
  // `resume_args` after each kill), then lets it finish. Returns the kills.
  int kill_and_resume(std::vector<std::string> args, const std::vector<std::string>& resume_args,
                      const fs::path& out_dir, double duration, int kills,
                      const std::string& what) {
    int done = 0, temporaries = 0;
    for (int k = 0; k < kills; ++k) {
      const double at = std::uniform_real_distribution<double>(0.02, duration)(rng_);
      const Outcome o = run_tool(args, dir_ / "trial.log", at);
      // Kill moments follow the latest uninterrupted run: a reference timed on
      // a loaded machine (ctest runs suites in parallel) would otherwise put
      // most of them after the end.
      if (!o.killed) duration = std::max(0.05, o.seconds);
      const std::string when = what + " killed at " + std::to_string(at) + " s";
      if (o.killed) {
        ++done;
        expect_outputs_valid(out_dir, when, &temporaries);
      } else {
        EXPECT_EQ(o.exit_code, 0) << when << ": " << read_bytes(dir_ / "trial.log");
      }
      if (k == 0) args.insert(args.end(), resume_args.begin(), resume_args.end());
    }
    const Outcome last = run_tool(args, dir_ / "trial.log");
    EXPECT_EQ(last.exit_code, 0) << what << " resumed: " << read_bytes(dir_ / "trial.log");
    // Temporary files of killed writes are cleaned up by the next run.
    int left = 0;
    expect_outputs_valid(out_dir, what + " finished", &left);
    EXPECT_EQ(left, 0) << what << ": temporary files of killed writes were left behind";
    if (temporaries)
      std::printf("%s: %d temporary files seen after kills, none left at the end\n", what.c_str(),
                  temporaries);
    return done;
  }
  TempDir dir_;
  unsigned seed_ = 0;
  std::mt19937 rng_;
};

TEST_F(KillTrials, TrainCompressAndInferSurviveSigkill) {
  // Uninterrupted references.
  Outcome ref = run_tool(train_args(dir_ / "train-ref"), dir_ / "ref.log");
  ASSERT_EQ(ref.exit_code, 0) << read_bytes(dir_ / "ref.log");
  const double train_seconds = ref.seconds;
  const fs::path teacher = dir_ / "train-ref/last.ocrm";
  auto compress_args = [&](const fs::path& run_dir) {
    return std::vector<std::string>{kCompress,
                                    "--teacher",
                                    teacher.string(),
                                    "--train",
                                    (dir_ / "data").string(),
                                    "--val",
                                    (dir_ / "data").string(),
                                    "--run-dir",
                                    run_dir.string(),
                                    "--width",
                                    "0.5",
                                    "--stages",
                                    "ts,tucker,finetune",
                                    "--ts-iterations",
                                    "40",
                                    "--finetune-iterations",
                                    "30",
                                    "--ranks",
                                    "energy:0.9",
                                    "-b",
                                    "4",
                                    "--validate-every",
                                    "20",
                                    "--checkpoint-every",
                                    "3",
                                    "--latency-lines",
                                    "2",
                                    "--no-augment",
                                    "-t",
                                    "1",
                                    "--seed",
                                    "4",
                                    "-q"};
  };
  ref = run_tool(compress_args(dir_ / "compress-ref"), dir_ / "ref.log");
  ASSERT_EQ(ref.exit_code, 0) << read_bytes(dir_ / "ref.log");
  const double compress_seconds = ref.seconds;
  // ocr-infer over the lines twenty times, as JSON lines.
  write_repeated_list(dir_ / "lines.txt");
  auto infer_args = [&](const fs::path& out) {
    return std::vector<std::string>{kInfer,
                                    "--model",
                                    teacher.string(),
                                    "--format",
                                    "jsonl",
                                    "-t",
                                    "1",
                                    "-q",
                                    "-o",
                                    out.string(),
                                    "@" + (dir_ / "lines.txt").string()};
  };
  ref = run_tool(infer_args(dir_ / "infer-ref.jsonl"), dir_ / "ref.log");
  ASSERT_EQ(ref.exit_code, 0) << read_bytes(dir_ / "ref.log");
  const double infer_seconds = ref.seconds;
  const std::string infer_ref = read_bytes(dir_ / "infer-ref.jsonl");

  int kills = 0;
  for (int trial = 0; trial < 12; ++trial) {
    const fs::path run_dir = dir_ / ("train-" + std::to_string(trial));
    kills += kill_and_resume(train_args(run_dir), {"--resume"}, run_dir, train_seconds, 3,
                             "ocr-train trial " + std::to_string(trial));
    expect_same_tensors(dir_ / "train-ref/last.ocrm", run_dir / "last.ocrm",
                        "ocr-train trial " + std::to_string(trial));
  }
  for (int trial = 0; trial < 8; ++trial) {
    const fs::path run_dir = dir_ / ("compress-" + std::to_string(trial));
    kills += kill_and_resume(compress_args(run_dir), {"--resume"}, run_dir, compress_seconds, 4,
                             "ocr-compress trial " + std::to_string(trial));
    for (const char* stage : {"student-ts.ocrm", "student-tucker.ocrm", "student-finetune.ocrm"})
      expect_same_tensors(dir_ / "compress-ref" / stage, run_dir / stage,
                          "ocr-compress trial " + std::to_string(trial) + " " + stage);
  }
  double infer_duration = infer_seconds;  // of the latest uninterrupted run, as above
  for (int trial = 0; trial < 20; ++trial) {
    const fs::path out = dir_ / ("infer-" + std::to_string(trial)) / "out.jsonl";
    fs::create_directories(out.parent_path());
    const double at = std::uniform_real_distribution<double>(0.0, infer_duration)(rng_);
    const Outcome o = run_tool(infer_args(out), dir_ / "trial.log", at);
    if (o.killed) {
      ++kills;
      // Absent, or the whole output.
      if (fs::exists(out)) EXPECT_EQ(read_bytes(out), infer_ref) << "killed at " << at << " s";
    }
    const Outcome rerun = run_tool(infer_args(out), dir_ / "trial.log");
    ASSERT_EQ(rerun.exit_code, 0);
    infer_duration = rerun.seconds;
    EXPECT_EQ(read_bytes(out), infer_ref);
    int left = 0;
    expect_outputs_valid(out.parent_path(), "ocr-infer rerun", &left);
    EXPECT_EQ(left, 0) << "ocr-infer left a killed run's temporary file";
  }
  std::printf("%d SIGKILLs in all\n", kills);
  EXPECT_GE(kills, 50);
}

TEST_F(KillTrials, FullDiskGivesAClearErrorAndNoPartialFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  const fs::path disk = dir_ / "disk";
  fs::create_directories(disk);
  if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=48k") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{disk};

  // ocr-train's first checkpoint (weights plus Adam's moments) does not fit.
  Outcome o = run_tool(train_args(disk / "run"), dir_ / "full.log");
  std::string err = read_bytes(dir_ / "full.log");
  EXPECT_NE(o.exit_code, 0) << err;
  EXPECT_NE(err.find(disk.string()), std::string::npos) << err;
  EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
  int temporaries = 0;
  expect_outputs_valid(disk, "ocr-train on a full disk", &temporaries);
  EXPECT_EQ(temporaries, 0) << "a temporary file was left on the full disk";
  fs::remove_all(disk / "run");

  // ocr-infer's output (about 100 KB of JSON lines) does not fit either.
  write_repeated_list(dir_ / "many.txt");
  ASSERT_EQ(run_tool(train_args(dir_ / "model"), dir_ / "train.log").exit_code, 0);
  o = run_tool({kInfer, "--model", (dir_ / "model/last.ocrm").string(), "--format", "jsonl", "-t",
                "1", "-q", "-o", (disk / "out.jsonl").string(), "@" + (dir_ / "many.txt").string()},
               dir_ / "full.log");
  err = read_bytes(dir_ / "full.log");
  EXPECT_NE(o.exit_code, 0) << err;
  EXPECT_NE(err.find("out.jsonl"), std::string::npos) << err;
  EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
  EXPECT_TRUE(fs::is_empty(disk)) << "a partial file was left on the full disk";
}

}  // namespace
