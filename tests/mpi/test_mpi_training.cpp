// Data-parallel ocr-train and ocr-compress under Open MPI's mpirun, two ranks
// on this machine: the same models as one process, identical replicas, a
// killed rank or unreadable data ending the job, and exact resumption.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "runtime/core/file_io.hpp"
#include "runtime/core/safetensors.hpp"
#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::test;
namespace fs = std::filesystem;

namespace {

const std::string kSynth = OCR_SYNTH_EXE, kTrain = OCR_TRAIN_EXE, kCompress = OCR_COMPRESS_EXE;
const std::string kFonts = "/usr/share/fonts/truetype/dejavu";
// Root may run mpirun only when it says so; two ranks on two cores or fewer.
const std::string kMpirun = "mpirun --allow-run-as-root --oversubscribe";

int run(const std::string& command, const fs::path& log) {
  const int status = std::system((command + " >" + log.string() + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Per tensor, |a - b| / |a| (Euclidean norms): its largest value, each
// expected within 1e-5. A checkpoint's optimizer moments are left out with
// `parameters_only` (gradients, unlike parameters, keep the rounding of sums
// whose order differs with the number of ranks: up to 1e-4 in 20 steps).
double worst_relative_difference(const fs::path& a_path, const fs::path& b_path,
                                 bool parameters_only = false) {
  const TensorMap a = read_safetensors_file(a_path), b = read_safetensors_file(b_path);
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (const auto& [name, ta] : a) {
    if (parameters_only && name.starts_with("optimizer.")) continue;
    const auto it = b.find(name);
    if (it == b.end()) {
      ADD_FAILURE() << name << " missing from " << b_path;
      continue;
    }
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < ta.data.size(); ++i) {
      diff += std::pow(static_cast<double>(ta.data[i]) - it->second.data[i], 2);
      norm += std::pow(static_cast<double>(ta.data[i]), 2);
    }
    const double r = norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
    EXPECT_LE(r, 1e-5) << name;
    worst = std::max(worst, r);
  }
  return worst;
}

std::vector<nlohmann::json> log_events(const fs::path& log, const std::string& event) {
  std::vector<nlohmann::json> out;
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.value("event", "") == event) out.push_back(j);
  }
  return out;
}

class MpiTraining : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v mpirun >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "mpirun not installed (scripts/setup-deps.sh installs openmpi-bin)";
    // A place where Open MPI cannot start two processes at all (no shared
    // memory, say) is not a fault of ours: say what mpirun said and skip.
    if (run(kMpirun + " -np 2 true", dir_ / "mpirun.log") != 0)
      GTEST_SKIP() << "mpirun cannot start 2 processes here:\n" << read_bytes(dir_ / "mpirun.log");
    if (!fs::exists(kFonts + "/DejaVuSans.ttf")) GTEST_SKIP() << "DejaVu fonts not installed";
    // A convolution feeding a batch norm has no bias here: its gradient is
    // zero but for rounding, and what Adam makes of rounding noise depends
    // on the order of a sum, which is not what the test is about.
    std::string arch = kTinyLineArchitecture;
    const std::string c0 = R"("out_channels": 8, "kernel_size": 3, "padding": 1})";
    arch.replace(arch.find(c0), c0.size(),
                 R"("out_channels": 8, "kernel_size": 3, "padding": 1, "bias": false})");
    write_bytes(dir_ / "arch.json", arch);
    ASSERT_EQ(run(kSynth + " -q --corpus " + OCRCORE_FIXTURES_DIR + "/corpus.txt --fonts " +
                      kFonts + " -o " + data() + " --count 48 --height 24 --max-chars 12",
                  dir_ / "synth.log"),
              0)
        << read_bytes(dir_ / "synth.log");
  }
  std::string data() const { return (dir_ / "data").string(); }
  // ocr-train on the test lines; `batch` is the global batch.
  std::string train(const std::string& run_dir, const std::string& more) const {
    return kTrain + " --arch " + (dir_ / "arch.json").string() + " --train " + data() + " --val " +
           data() + " --run-dir " + (dir_ / run_dir).string() +
           " -b 16 --validate-every 10 --checkpoint-every 10 --log-every 5 -t 1"
           " --loader-threads 1 --seed 3 -q " +
           more;
  }
  TempDir dir_;
};

TEST_F(MpiTraining, TwoRanksTrainTheModelOneProcessTrains) {
  // One process forms its batches as the ranks do by default (--batch-widths
  // premeasured: every line's width measured before training). Plain SGD:
  // Adam divides by the root of a gradient's square, so where one is near
  // zero it turns the rounding of sums (whose order differs with the number
  // of ranks) into steps of the learning rate's size (3e-5 seen in 20 steps);
  // the sums themselves are what the test checks. Other batches of the same
  // lines give differences of order 1.
  const std::string sgd = "--iterations 20 --optimizer sgd --lr 0.05 ";
  ASSERT_EQ(run(train("one", sgd + "--batch-widths premeasured"), dir_ / "one.log"), 0)
      << read_bytes(dir_ / "one.log");
  ASSERT_EQ(
      run(kMpirun + " -np 2 " + train("two", sgd + "--verify-replicas-every 1"), dir_ / "two.log"),
      0)
      << read_bytes(dir_ / "two.log");
  // 2 ranks x 8 lines against 1 x 16, with batch norm and dropout.
  const double worst = worst_relative_difference(dir_ / "one/last.ocrm", dir_ / "two/last.ocrm");
  std::printf("ocr-train, 20 steps: largest relative difference %.2e\n", worst);
  EXPECT_GT(worst, 0.0) << "the same file twice? the sums' order differs between the runs";
  // Every rank held the same parameters at the start and after every step.
  const auto replicas = log_events(dir_ / "two/log.jsonl", "replicas");
  std::set<std::int64_t> seen;
  for (const auto& r : replicas) {
    const auto sums = r.at("checksums").get<std::vector<std::uint64_t>>();
    ASSERT_EQ(sums.size(), 2u);
    EXPECT_EQ(sums[0], sums[1]) << "iteration " << r.at("iteration");
    seen.insert(r.at("iteration").get<std::int64_t>());
  }
  for (int i = 0; i <= 20; ++i)
    EXPECT_TRUE(seen.count(i)) << "no checksums after iteration " << i;
  // One log, by rank 0; the allreduce timed.
  const auto steps = log_events(dir_ / "two/log.jsonl", "train");
  ASSERT_FALSE(steps.empty());
  EXPECT_EQ(steps.back().at("ranks"), 2);
  EXPECT_GT(steps.back().at("gradient_bytes").get<double>(), 0);
  const auto measured = log_events(dir_ / "two/log.jsonl", "widths_measured");
  ASSERT_EQ(measured.size(), 1u);
  EXPECT_EQ(measured[0].at("lines"),
            log_events(dir_ / "one/log.jsonl", "widths_measured").at(0).at("lines"));
}

TEST_F(MpiTraining, CompressStagesOnTwoRanksMatchOneProcess) {
  ASSERT_EQ(run(train("teacher", "--iterations 20"), dir_ / "teacher.log"), 0)
      << read_bytes(dir_ / "teacher.log");
  auto compress = [&](const std::string& run_dir, const std::string& more) {
    return kCompress + " --teacher " + (dir_ / "teacher/last.ocrm").string() + " --train " +
           data() + " --val " + data() + " --eval none --width 0.5 --stages ts,tucker,finetune" +
           " --ts-iterations 20 --finetune-iterations 20 -b 16 --validate-every 10" +
           " --checkpoint-every 10 --latency-lines 0 -t 1 --seed 4 -q --run-dir " +
           (dir_ / run_dir).string() + " " + more;
  };
  ASSERT_EQ(run(compress("one", "--batch-widths premeasured"), dir_ / "one.log"), 0)
      << read_bytes(dir_ / "one.log");
  ASSERT_EQ(
      run(kMpirun + " -np 2 " + compress("two", "--verify-replicas-every 1"), dir_ / "two.log"), 0)
      << read_bytes(dir_ / "two.log");
  for (const char* stage : {"student-ts.ocrm", "student-finetune.ocrm"}) {
    const double worst = worst_relative_difference(dir_ / "one" / stage, dir_ / "two" / stage);
    std::printf("ocr-compress %s: largest relative difference %.2e\n", stage, worst);
  }
  // Rank 0 wrote the report; the replicas agreed in both training stages.
  EXPECT_TRUE(fs::exists(dir_ / "two/report.md"));
  for (const char* stage : {"ts", "finetune"})
    for (const auto& r : log_events(dir_ / "two" / stage / "log.jsonl", "replicas")) {
      const auto sums = r.at("checksums").get<std::vector<std::uint64_t>>();
      EXPECT_EQ(sums[0], sums[1]) << stage << " iteration " << r.at("iteration");
    }
}

TEST_F(MpiTraining, KilledRankEndsTheJobAndTheCheckpointResumesExactly) {
  const std::string long_run = "--iterations 100000 --stop-at 300";
  // The uninterrupted reference.
  ASSERT_EQ(run(kMpirun + " -np 2 " + train("whole", long_run), dir_ / "whole.log"), 0)
      << read_bytes(dir_ / "whole.log");

  const fs::path log = dir_ / "killed.log";
  const pid_t job = fork();
  ASSERT_GE(job, 0);
  if (job == 0) {
    setpgid(0, 0);
    const std::string cmd =
        "exec " + kMpirun + " -np 2 " + train("killed", long_run) + " >" + log.string() + " 2>&1";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Once a checkpoint is written, SIGKILL one of the ranks.
  const fs::path ckpt = dir_ / "killed/checkpoint.ckpt";
  for (int i = 0; i < 600 && !fs::exists(ckpt); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(ckpt)) << read_bytes(log);
  const std::string find_rank =
      "pgrep -f -n -- '^" + kTrain + " --arch .*" + (dir_ / "killed").string() + "'";
  FILE* pipe = popen(find_rank.c_str(), "r");
  int rank_pid = 0;
  ASSERT_EQ(std::fscanf(pipe, "%d", &rank_pid), 1);
  pclose(pipe);
  const auto killed_at = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(rank_pid, SIGKILL), 0);
  int status = 0;
  pid_t done = 0;
  while ((done = waitpid(job, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() - killed_at < std::chrono::seconds(30))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (done == 0) {
    kill(-job, SIGKILL);
    waitpid(job, &status, 0);
    FAIL() << "the job still ran 30 s after a rank was killed:\n" << read_bytes(log);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  std::printf("job ended %.1f s after a rank was killed\n", seconds);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  const std::string said = read_bytes(log);
  EXPECT_NE(said.find("signal 9"), std::string::npos) << said;
  EXPECT_NE(said.find("rank"), std::string::npos) << said;

  // The checkpoint is whole, and resuming from it ends where the
  // uninterrupted run ended.
  const auto at = nlohmann::json::parse(
      detail::parse_safetensors(detail::MappedFile(ckpt).data(), fs::file_size(ckpt), ckpt.string())
          .metadata.at("ocrcore.checkpoint"));
  std::printf("killed after the checkpoint of iteration %lld\n",
              static_cast<long long>(at.at("iteration").get<std::int64_t>()));
  ASSERT_LT(at.at("iteration").get<std::int64_t>(), 300);
  const auto resumed_from = at.at("iteration").get<std::int64_t>();
  fs::copy(dir_ / "killed", dir_ / "on-one", fs::copy_options::recursive);
  fs::copy(dir_ / "killed", dir_ / "on-two", fs::copy_options::recursive);
  ASSERT_EQ(
      run(kMpirun + " -np 2 " + train("killed", long_run + " --resume"), dir_ / "resumed.log"), 0)
      << read_bytes(dir_ / "resumed.log");
  EXPECT_EQ(
      worst_relative_difference(dir_ / "whole/checkpoint.ckpt", dir_ / "killed/checkpoint.ckpt"),
      0.0);
  // On another number of ranks (one process) the run continues as on two:
  // its batches (formed from premeasured widths, as the checkpoint says) and
  // batch statistics do not depend on the number of ranks (20 steps each
  // way; over hundreds the order of sums shows).
  const std::string next =
      " --iterations 100000 --resume --stop-at " + std::to_string(resumed_from + 20);
  ASSERT_EQ(run(train("on-one", next), dir_ / "on-one.log"), 0) << read_bytes(dir_ / "on-one.log");
  ASSERT_EQ(run(kMpirun + " -np 2 " + train("on-two", next), dir_ / "on-two.log"), 0)
      << read_bytes(dir_ / "on-two.log");
  const auto resumes = log_events(dir_ / "on-one/log.jsonl", "resume");
  ASSERT_FALSE(resumes.empty());
  EXPECT_EQ(resumes.back().at("ranks"), 1);
  std::printf("resumed on 1 process against 2 ranks, 20 steps: largest relative difference %.2e\n",
              worst_relative_difference(dir_ / "on-two/checkpoint.ckpt",
                                        dir_ / "on-one/checkpoint.ckpt", true));
}

TEST_F(MpiTraining, RankThatCannotReadItsDataEndsTheJobNamingIt) {
  // mpirun's MPMD form gives rank 1 a training set that is not there.
  const std::string common = " --arch " + (dir_ / "arch.json").string() + " --run-dir " +
                             (dir_ / "run").string() + " --iterations 20 -b 16 -t 1 -q";
  const auto start = std::chrono::steady_clock::now();
  const int code = run(kMpirun + " -np 1 " + kTrain + common + " --train " + data() + " : -np 1 " +
                           kTrain + common + " --train " + (dir_ / "missing").string(),
                       dir_ / "job.log");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(code, 0);
  EXPECT_LT(seconds, 30);
  const std::string said = read_bytes(dir_ / "job.log");
  EXPECT_NE(said.find("ocr-train: error (rank 1 of 2): " + (dir_ / "missing").string()),
            std::string::npos)
      << said;
}

}  // namespace
