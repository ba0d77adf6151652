// Where outputs go, as a user's machine meets them: every tool that writes a
// file (ocr-infer's results and --errors-json, ocr-convert, ocr-lm, ocr-train,
// ocr-compress)
// x {regular file, new path, symlink to a file, dangling symlink, FIFO with a
// reader, character device, directory, read-only directory, missing parent},
// plus standard output on a full device, closed, and a pipe closed early. For
// each: the exit code, the message, and that nothing but the intended output
// changed in the temporary tree (every other entry's type and bytes compared).
// Inputs: a list that never ends a line, a directory with a symlink cycle, a
// multi-page TIFF. ocr-synth, whose output is a directory of lines: a new
// path, a directory, a link to one; anything else refused before rendering.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <leptonica/allheaders.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "ocrcore/ocrcore.hpp"
#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::test;
namespace fs = std::filesystem;

namespace {

const std::string kInfer = OCR_INFER_EXE, kConvert = OCR_CONVERT_EXE, kLm = OCR_LM_EXE,
                  kTrain = OCR_TRAIN_EXE, kSynth = OCR_SYNTH_EXE, kCompress = OCR_COMPRESS_EXE;
const std::string kModel = OCRCORE_SOURCE_DIR "/models/compact-printed.ocrm";

enum class Stdout { file, full_device, closed, early_closed_pipe };

struct ToolRun {
  int exit_code = -1;  // when it exited
  int signal = 0;      // when a signal ended it
  std::string err;     // its standard error
  std::string out;     // its standard output (Stdout::file)
};

// Runs `args` with standard output as asked, standard error captured, and
// optionally as an unprivileged user (the read-only directory case: root
// writes anywhere).
ToolRun run(const std::vector<std::string>& args, const fs::path& scratch,
            Stdout where = Stdout::file, bool unprivileged = false) {
  const fs::path out = scratch / "stdout.txt", err = scratch / "stderr.txt";
  int pipe_fds[2] = {-1, -1};
  if (where == Stdout::early_closed_pipe && ::pipe(pipe_fds) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    ::dup2(e, 2);
    switch (where) {
      case Stdout::file: {
        const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
        ::dup2(o, 1);
        break;
      }
      case Stdout::full_device: {
        const int o = ::open("/dev/full", O_WRONLY);
        ::dup2(o, 1);
        break;
      }
      case Stdout::closed:
        ::close(1);
        break;
      case Stdout::early_closed_pipe:
        ::dup2(pipe_fds[1], 1);
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        break;
    }
    if (unprivileged && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(126);
    ::alarm(600);  // a tool that hangs fails the case instead of the suite
    std::vector<char*> argv;
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (where == Stdout::early_closed_pipe) {
    // The reader takes one line and goes away, as `| head -1` does.
    ::close(pipe_fds[1]);
    char c;
    while (::read(pipe_fds[0], &c, 1) == 1 && c != '\n') {
    }
    ::close(pipe_fds[0]);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ToolRun r;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.err = read_bytes(err);
  if (where == Stdout::file) r.out = read_bytes(out);
  return r;
}

// Every entry under `root` but the scratch files: its type and, for a
// regular file, its bytes; for a link, where it points.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> entries;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::end(it); ++it) {
    const fs::path p = it->path();
    const std::string rel = p.lexically_relative(root).string();
    if (rel.starts_with("scratch")) continue;
    const auto st = fs::symlink_status(p);
    if (fs::is_symlink(st))
      entries[rel] = "link:" + fs::read_symlink(p).string();
    else if (fs::is_regular_file(st))
      entries[rel] = "file:" + read_bytes(p);
    else if (fs::is_directory(st))
      entries[rel] = "dir";
    else
      entries[rel] = "special:" + std::to_string(static_cast<int>(st.type()));
  }
  return entries;
}

// A tool that writes one output file, with how to check what it wrote.
struct Writer {
  std::string name;
  std::function<std::vector<std::string>(const std::string& output)> command;
  std::function<void(const std::string& bytes)> check_output;
};

class OutputMatrix : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_ = new TempDir;
    const fs::path d = shared_->path();
    // A few lines to train on for one step (ocr-train's output).
    ASSERT_EQ(run({kSynth, "--corpus", (fixtures_dir() / "corpus.txt").string(), "--fonts",
                   "/usr/share/fonts/truetype/dejavu", "-o", (d / "lines").string(), "--count", "8",
                   "--height", "16", "--max-chars", "8", "-q"},
                  d)
                  .exit_code,
              0);
    std::ofstream(d / "arch.json") << kTinyLineArchitecture;
    // A teacher for ocr-compress's output (one step is enough).
    ASSERT_EQ(run({kTrain, "--arch", (d / "arch.json").string(), "--train", (d / "lines").string(),
                   "--iterations", "1", "-b", "4", "-t", "1", "-q", "--run-dir",
                   (d / "teacher-run").string(), "-o", (d / "teacher.ocrm").string()},
                  d)
                  .exit_code,
              0);
    // The read-only directory case runs ocr-train as an unprivileged user,
    // who must be able to make its run directory here.
    fs::permissions(d, fs::perms::all, fs::perm_options::add);
  }
  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }

  static std::vector<Writer> writers() {
    const std::string samples = (fs::path(OCRCORE_SOURCE_DIR) / "models/samples").string();
    const std::string model = kModel;
    const fs::path d = shared_->path();
    auto text_nonempty = [](const std::string& bytes) { EXPECT_FALSE(bytes.empty()); };
    return {
        {"ocr-infer -o",
         [=](const std::string& o) {
           return std::vector<std::string>{kInfer, "-q", "-t", "1", "-m", model, samples, "-o", o};
         },
         [](const std::string& bytes) {
           EXPECT_EQ(std::count(bytes.begin(), bytes.end(), '\n'), 12) << bytes;
         }},
        {"ocr-infer --errors-json",
         [=](const std::string& o) {
           return std::vector<std::string>{kInfer,          "-q", "-t", "1", "-m", model, samples,
                                           "--errors-json", o};
         },
         [](const std::string& bytes) { EXPECT_NE(bytes.find('{'), std::string::npos); }},
        {"ocr-convert",
         [=](const std::string& o) {
           return std::vector<std::string>{kConvert, "--to", "ocrm", model, o};
         },
         [&](const std::string& bytes) { EXPECT_GT(bytes.size(), 100000u); }},
        {"ocr-lm",
         [=](const std::string& o) {
           return std::vector<std::string>{
               kLm, (fixtures_dir() / "corpus.txt").string(), "--order", "3", "-o", o};
         },
         [](const std::string& bytes) { EXPECT_NE(bytes.find("\\data\\"), std::string::npos); }},
        {"ocr-train -o",
         [=](const std::string& o) {
           static int runs = 0;
           return std::vector<std::string>{kTrain,
                                           "--arch",
                                           (d / "arch.json").string(),
                                           "--train",
                                           (d / "lines").string(),
                                           "--iterations",
                                           "1",
                                           "-b",
                                           "4",
                                           "-t",
                                           "1",
                                           "-q",
                                           "--run-dir",
                                           (d / ("run" + std::to_string(runs++))).string(),
                                           "-o",
                                           o};
         },
         text_nonempty},
        {"ocr-compress -o",
         [=](const std::string& o) {
           static int runs = 0;
           return std::vector<std::string>{kCompress,
                                           "--teacher",
                                           (d / "teacher.ocrm").string(),
                                           "--train",
                                           (d / "lines").string(),
                                           "--run-dir",
                                           (d / ("compress" + std::to_string(runs++))).string(),
                                           "--stages",
                                           "ts",
                                           "--ts-iterations",
                                           "1",
                                           "-b",
                                           "4",
                                           "--latency-lines",
                                           "1",
                                           "--eval",
                                           "none",
                                           "--no-augment",
                                           "-t",
                                           "1",
                                           "-q",
                                           "-o",
                                           o};
         },
         [](const std::string& bytes) { EXPECT_GT(bytes.size(), 1000u); }},
    };
  }

  static TempDir* shared_;
};
TempDir* OutputMatrix::shared_ = nullptr;

std::string file_type(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return "missing";
  if (S_ISLNK(st.st_mode)) return "link";
  if (S_ISFIFO(st.st_mode)) return "fifo";
  if (S_ISCHR(st.st_mode)) return "chardev";
  if (S_ISDIR(st.st_mode)) return "dir";
  return S_ISREG(st.st_mode) ? "file" : "other";
}

TEST_F(OutputMatrix, EveryToolEveryKindOfPath) {
  for (const Writer& w : writers()) {
    SCOPED_TRACE(w.name);
    // Each case in a tree of its own, with bystanders that must not change.
    auto fresh_tree = [](const fs::path& root) {
      fs::create_directories(root / "scratch");
      write_bytes(root / "bystander.txt", "keep me\n");
      write_bytes(root / "target.txt", "old target\n");
      fs::create_directories(root / "sub");
    };
    auto expect_only_changed = [](const std::map<std::string, std::string>& before,
                                  const std::map<std::string, std::string>& after,
                                  const std::set<std::string>& allowed) {
      for (const auto& [path, what] : before)
        if (!allowed.count(path)) {
          auto it = after.find(path);
          ASSERT_NE(it, after.end()) << path << " disappeared";
          EXPECT_EQ(it->second.substr(0, 200), what.substr(0, 200)) << path << " changed";
        }
      for (const auto& [path, what] : after)
        if (!allowed.count(path)) EXPECT_TRUE(before.count(path)) << path << " appeared";
    };

    {  // A regular file: replaced whole.
      TempDir t;
      fresh_tree(t.path());
      const auto before = snapshot(t.path());
      const ToolRun r = run(w.command((t.path() / "target.txt").string()), t.path() / "scratch");
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(file_type(t.path() / "target.txt"), "file");
      w.check_output(read_bytes(t.path() / "target.txt"));
      expect_only_changed(before, snapshot(t.path()), {"target.txt"});
    }
    {  // A new path.
      TempDir t;
      fresh_tree(t.path());
      const auto before = snapshot(t.path());
      const ToolRun r = run(w.command((t.path() / "sub/new.out").string()), t.path() / "scratch");
      EXPECT_EQ(r.exit_code, 0) << r.err;
      w.check_output(read_bytes(t.path() / "sub/new.out"));
      expect_only_changed(before, snapshot(t.path()), {"sub/new.out"});
    }
    {  // A symlink to a file: the link stays, its target is replaced.
      TempDir t;
      fresh_tree(t.path());
      fs::create_symlink("target.txt", t.path() / "link.txt");
      const auto before = snapshot(t.path());
      const ToolRun r = run(w.command((t.path() / "link.txt").string()), t.path() / "scratch");
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(file_type(t.path() / "link.txt"), "link");
      w.check_output(read_bytes(t.path() / "target.txt"));
      expect_only_changed(before, snapshot(t.path()), {"target.txt"});
    }
    {  // A dangling symlink: its target is created, the link stays.
      TempDir t;
      fresh_tree(t.path());
      fs::create_symlink("sub/made.out", t.path() / "dangling.txt");
      const auto before = snapshot(t.path());
      const ToolRun r = run(w.command((t.path() / "dangling.txt").string()), t.path() / "scratch");
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(file_type(t.path() / "dangling.txt"), "link");
      w.check_output(read_bytes(t.path() / "sub/made.out"));
      expect_only_changed(before, snapshot(t.path()), {"sub/made.out"});
    }
    {  // A FIFO with a reader: written in place, still a FIFO.
      TempDir t;
      fresh_tree(t.path());
      const fs::path fifo = t.path() / "fifo";
      ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
      std::string received;
      std::thread reader([&] { received = read_bytes(fifo); });
      const ToolRun r = run(w.command(fifo.string()), t.path() / "scratch");
      // A tool that never opened the FIFO must not leave the reader waiting.
      const int unblock = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (unblock >= 0) ::close(unblock);
      reader.join();
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(file_type(fifo), "fifo");
      w.check_output(received);
    }
    {  // A character device (the null device, made here): written, not replaced.
      TempDir t;
      fresh_tree(t.path());
      const fs::path dev = t.path() / "null";
      if (::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
        const auto before = snapshot(t.path());
        const ToolRun r = run(w.command(dev.string()), t.path() / "scratch");
        EXPECT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(file_type(dev), "chardev");
        expect_only_changed(before, snapshot(t.path()), {});
      } else {
        std::printf("[ note ] cannot make a device node here (%s): case skipped\n",
                    std::strerror(errno));
      }
    }
    {  // A directory, a missing parent: refused, named, nothing touched.
      TempDir t;
      fresh_tree(t.path());
      const auto before = snapshot(t.path());
      ToolRun r = run(w.command((t.path() / "sub").string()), t.path() / "scratch");
      EXPECT_NE(r.exit_code, 0);
      EXPECT_NE(r.err.find("is a directory"), std::string::npos) << r.err;
      r = run(w.command((t.path() / "no/such/dir/x.out").string()), t.path() / "scratch");
      EXPECT_NE(r.exit_code, 0);
      EXPECT_NE(r.err.find("x.out"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
      expect_only_changed(before, snapshot(t.path()), {});
    }
    if (::geteuid() == 0) {  // A read-only directory, as a user who cannot write it.
      TempDir t;
      fresh_tree(t.path());
      fs::permissions(t.path(), fs::perms::all, fs::perm_options::add);
      fs::permissions(t.path() / "scratch", fs::perms::all, fs::perm_options::add);
      fs::create_directories(t.path() / "ro");
      fs::permissions(t.path() / "ro", fs::perms::owner_read | fs::perms::owner_exec |
                                           fs::perms::group_read | fs::perms::group_exec |
                                           fs::perms::others_read | fs::perms::others_exec);
      {
        const auto before = snapshot(t.path());
        const ToolRun r = run(w.command((t.path() / "ro/x.out").string()), t.path() / "scratch",
                              Stdout::file, true);
        EXPECT_NE(r.exit_code, 0);
        if (r.exit_code == 126 || r.exit_code == 127 || r.err.find("x.out") == std::string::npos) {
          // The tool, its model or data is out of the unprivileged user's
          // reach (a checkout under /root): the output was never tried.
          std::printf("[ note ] %s cannot run as an unprivileged user here: %s", w.name.c_str(),
                      r.err.c_str());
        } else {
          EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
        }
        expect_only_changed(before, snapshot(t.path()), {});
      }
    }
  }
}

TEST_F(OutputMatrix, SynthWritesIntoDirectoriesOnly) {
  TempDir t;
  const fs::path root = t.path();
  fs::create_directories(root / "scratch");
  auto synth = [&](const fs::path& out) {
    return run({kSynth, "--corpus", (fixtures_dir() / "corpus.txt").string(), "--fonts",
                "/usr/share/fonts/truetype/dejavu", "-o", out.string(), "--count", "2", "--height",
                "16", "--max-chars", "8", "-q"},
               root / "scratch");
  };
  auto lines_in = [](const fs::path& dir) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir))
      n += e.path().extension() == ".png";
    return n;
  };
  // A new path, parents made.
  ToolRun r = synth(root / "new/deeper");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines_in(root / "new/deeper"), 2);
  // A directory with other files: they stay as they were.
  fs::create_directories(root / "existing");
  write_bytes(root / "existing/bystander.txt", "keep me\n");
  r = synth(root / "existing");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines_in(root / "existing"), 2);
  EXPECT_EQ(read_bytes(root / "existing/bystander.txt"), "keep me\n");
  // A link to a directory: followed, the link kept.
  fs::create_directories(root / "real");
  fs::create_directory_symlink("real", root / "link");
  r = synth(root / "link");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(file_type(root / "link"), "link");
  EXPECT_EQ(lines_in(root / "real"), 2);
  // A file, a FIFO, a device, a dangling link: refused, named, untouched.
  write_bytes(root / "file.txt", "old\n");
  ASSERT_EQ(::mkfifo((root / "fifo").c_str(), 0644), 0);
  fs::create_symlink("nowhere/at/all", root / "dangling");
  std::vector<std::pair<fs::path, std::string>> refused = {
      {root / "file.txt", "file"}, {root / "fifo", "fifo"}, {root / "dangling", "link"}};
  if (::mknod((root / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0)
    refused.push_back({root / "null", "chardev"});
  for (const auto& [path, type] : refused) {
    SCOPED_TRACE(path.string());
    r = synth(path);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find(path.string()), std::string::npos) << r.err;
    EXPECT_EQ(file_type(path), type);
  }
  EXPECT_NE(synth(root / "file.txt").err.find("exists and is not a directory"), std::string::npos);
  EXPECT_EQ(read_bytes(root / "file.txt"), "old\n");
  EXPECT_FALSE(fs::exists(root / "nowhere"));
}

TEST_F(OutputMatrix, StandardOutputFailuresAreReported) {
  const std::string samples = (fs::path(OCRCORE_SOURCE_DIR) / "models/samples").string();
  TempDir t;
  const std::vector<std::string> infer = {kInfer, "-q", "-t", "1", "-m", kModel, samples};
  ToolRun r = run(infer, t.path(), Stdout::full_device);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("standard output: write error: No space left on device"), std::string::npos)
      << r.err;
  r = run(infer, t.path(), Stdout::closed);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("standard output: write error: Bad file descriptor"), std::string::npos)
      << r.err;
  // "-" is standard output for every writer: a model on a full device fails.
  r = run({kConvert, "--to", "ocrm", kModel, "-"}, t.path(), Stdout::full_device);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  // Help text too.
  r = run({kLm, "--help"}, t.path(), Stdout::full_device);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("standard output: write error"), std::string::npos) << r.err;
  // A reader that goes away early: quiet (SIGPIPE), as standard tools are.
  std::ofstream list(t.path() / "many.txt");
  for (int i = 0; i < 400; ++i)
    list << samples << "\n";
  list.close();
  r = run({kInfer, "-q", "-t", "1", "-m", kModel, "@" + (t.path() / "many.txt").string()}, t.path(),
          Stdout::early_closed_pipe);
  EXPECT_TRUE(r.signal == SIGPIPE || r.exit_code == 0) << r.exit_code << " " << r.err;
  EXPECT_EQ(r.err.find("write error"), std::string::npos) << r.err;
}

TEST_F(OutputMatrix, InputsWithoutEndCyclesAndPages) {
  const fs::path samples = fs::path(OCRCORE_SOURCE_DIR) / "models/samples";
  TempDir t;
  // A list that never ends a line: a clear error in bounded memory and time.
  const auto start = std::chrono::steady_clock::now();
  ToolRun r = run({kInfer, "-q", "-m", kModel, "@/dev/zero"}, t.path());
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 20);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/dev/zero:1: line longer than"), std::string::npos) << r.err;
  // A symlink back up the tree, and a second link to the same image: each
  // image read once.
  fs::create_directories(t.path() / "tree/a/b");
  fs::copy_file(samples / "000001.png", t.path() / "tree/a/b/one.png");
  fs::copy_file(samples / "000001.gt.txt", t.path() / "tree/a/b/one.gt.txt");
  fs::copy_file(samples / "000002.png", t.path() / "tree/a/two.png");
  fs::create_directory_symlink("..", t.path() / "tree/a/b/up");
  fs::create_directory_symlink("../a", t.path() / "tree/a/b/again");
  fs::create_symlink("b/one.png", t.path() / "tree/a/alias.png");
  r = run({kInfer, "-q", "-t", "1", "-m", kModel, "--format", "tsv", (t.path() / "tree").string()},
          t.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
  // A multi-page TIFF: every page a line of its own, named by its page.
  {
    PIX* pages[3];
    for (int p = 0; p < 3; ++p) {
      const Image im = load_image(samples / ("00000" + std::to_string(p + 1) + ".png"));
      pages[p] = pixCreate(im.width(), im.height(), 8);
      for (int y = 0; y < im.height(); ++y)
        for (int x = 0; x < im.width(); ++x)
          pixSetPixel(pages[p], x, y, im.at(x, y));
      ASSERT_EQ(
          pixWriteTiff((t.path() / "pages.tif").c_str(), pages[p], IFF_TIFF_ZIP, p ? "a" : "w"), 0);
      pixDestroy(&pages[p]);
    }
  }
  EXPECT_EQ(count_image_pages(t.path() / "pages.tif"), 3);
  EXPECT_THROW(load_image(t.path() / "pages.tif"), Error);
  try {
    load_image_page(t.path() / "pages.tif", 3);
    ADD_FAILURE() << "page 4 of 3 was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has no page 4 (3 pages)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_image_page(t.path() / "pages.tif", -1), Error);
  write_bytes(t.path() / "gt.tsv",
              "pages.tif#page=2\t" + read_bytes(samples / "000002.gt.txt").substr(0, 15) + "\n");
  r = run({kInfer, "-t", "1", "-m", kModel, "--format", "tsv", "--gt",
           (t.path() / "gt.tsv").string(), (t.path() / "pages.tif").string()},
          t.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (int p = 1; p <= 3; ++p) {
    const std::string first_words =
        read_bytes(samples / ("00000" + std::to_string(p) + ".gt.txt")).substr(0, 10);
    EXPECT_NE(r.out.find("pages.tif#page=" + std::to_string(p) + "\t" + first_words),
              std::string::npos)
        << r.out;
  }
  EXPECT_NE(r.err.find("on 1 lines with ground truth"), std::string::npos) << r.err;
}

}  // namespace
