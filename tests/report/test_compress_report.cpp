// The compression report (scripts/compress-report.py) made from a real, tiny
// ocr-compress run (every stage) opens in headless Chromium without console
// messages, and its plots are drawn: the screenshot shows ink in many shades,
// where the same page without its figures shows almost none.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <set>
#include <sstream>

#include "ocrcore/ocrcore.hpp"
#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::test;
namespace fs = std::filesystem;

namespace {

const std::string kSynth = OCR_SYNTH_EXE, kTrain = OCR_TRAIN_EXE, kCompress = OCR_COMPRESS_EXE;
const std::string kFonts = "/usr/share/fonts/truetype/dejavu";
const std::string kReportScript = std::string(OCRCORE_SOURCE_DIR) + "/scripts/compress-report.py";

// Runs a shell command with stdout and stderr to `log`; its exit code.
int run(const std::string& command, const fs::path& log) {
  const int status = std::system((command + " >" + log.string() + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct Screenshot {
  double ink_fraction = 0;  // pixels darker than 200
  int shades = 0;           // distinct grey levels among them
};

class CompressReport : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run("/usr/bin/python3 -c 'import matplotlib'", dir_ / "probe.log") != 0)
      GTEST_SKIP() << "python3-matplotlib not installed (scripts/setup-deps.sh --report)";
    if (run("command -v chromium", dir_ / "probe.log") != 0)
      GTEST_SKIP() << "chromium not installed (scripts/setup-deps.sh --report)";
    if (!fs::exists(kFonts + "/DejaVuSans.ttf")) GTEST_SKIP() << "DejaVu fonts not installed";
  }
  // Opens `page` in headless Chromium; the screenshot's ink and the browser's
  // console messages (`console`).
  Screenshot open_in_chromium(const fs::path& page, std::string* console) {
    const fs::path shot = dir_ / (page.stem().string() + ".png"),
                   log = dir_ / (page.stem().string() + ".chromium.log");
    // --no-sandbox: tests may run as root, where Chromium's sandbox refuses to
    // start. Logging to stderr at level 0 prints every console message.
    const int code =
        run("chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
            "--enable-logging=stderr --v=0 --window-size=1400,3000 --screenshot=" +
                shot.string() + " file://" + page.string(),
            log);
    EXPECT_EQ(code, 0) << read_bytes(log);
    std::string lines;
    std::istringstream in(read_bytes(log));
    for (std::string line; std::getline(in, line);)
      if (line.find("CONSOLE") != std::string::npos) lines += line + "\n";
    *console = lines;
    Screenshot s;
    if (!fs::exists(shot)) return s;
    const Image image = load_image(shot);
    std::set<int> shades;
    std::size_t ink = 0;
    for (int y = 0; y < image.height(); ++y)
      for (int x = 0; x < image.width(); ++x)
        if (const int v = image.at(x, y); v < 200) {
          ++ink;
          shades.insert(v);
        }
    s.ink_fraction =
        static_cast<double>(ink) / (static_cast<double>(image.width()) * image.height());
    s.shades = static_cast<int>(shades.size());
    return s;
  }
  TempDir dir_;
};

TEST_F(CompressReport, OpensInHeadlessChromiumWithItsPlotsDrawn) {
  write_bytes(dir_ / "arch.json", kTinyLineArchitecture);
  ASSERT_EQ(
      run(kSynth + " -q --corpus " + OCRCORE_FIXTURES_DIR + "/corpus.txt --fonts " + kFonts +
              " -o " + (dir_ / "data").string() + " --count 32 --height 16 --max-chars 14 --seed 5",
          dir_ / "synth.log"),
      0)
      << read_bytes(dir_ / "synth.log");
  const std::string data = (dir_ / "data").string();
  ASSERT_EQ(run(kTrain + " --arch " + (dir_ / "arch.json").string() + " --train " + data +
                    " --val " + data + " --run-dir " + (dir_ / "teacher").string() +
                    " --iterations 40 -b 4 --validate-every 20 -t 1 --seed 3 -q",
                dir_ / "train.log"),
            0)
      << read_bytes(dir_ / "train.log");
  const fs::path run_dir = dir_ / "compress";
  ASSERT_EQ(run(kCompress + " --teacher " + (dir_ / "teacher/last.ocrm").string() + " --train " +
                    data + " --val " + data + " --eval " + data + " --run-dir " + run_dir.string() +
                    " --width 0.5 --stages ts,tucker,finetune --ts-iterations 40"
                    " --finetune-iterations 20 --ranks energy:0.9 -b 4 --validate-every 10"
                    " --latency-lines 2 --no-augment -t 1 --seed 4 -q",
                dir_ / "compress.log"),
            0)
      << read_bytes(dir_ / "compress.log");

  const fs::path page = dir_ / "report.html";
  ASSERT_EQ(
      run("/usr/bin/python3 " + kReportScript + " -o " + page.string() + " " + run_dir.string(),
          dir_ / "report.log"),
      0)
      << read_bytes(dir_ / "report.log");
  const std::string html = read_bytes(page);
  // Four figures: CER against footprint and against speedup, the stages'
  // curves, the Tucker spectra.
  std::size_t figures = 0;
  for (std::size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1))
    ++figures;
  EXPECT_EQ(figures, 4u);
  // Self-contained: nothing is fetched (SVG namespaces are names, not fetches).
  for (const char* fetch : {"src=\"http", "href=\"http", "url(http", "<script src", "<link "})
    EXPECT_EQ(html.find(fetch), std::string::npos) << fetch;

  std::string console;
  const Screenshot drawn = open_in_chromium(page, &console);
  EXPECT_EQ(console, "") << "console messages";
  // The same page without its figures: the measure tells the two apart.
  std::string bare = html;
  for (std::size_t at; (at = bare.find("<figure>")) != std::string::npos;)
    bare.erase(at, bare.find("</figure>", at) + 9 - at);
  write_bytes(dir_ / "bare.html", bare);
  const Screenshot text_only = open_in_chromium(dir_ / "bare.html", &console);
  EXPECT_GT(drawn.ink_fraction, 0.005);
  EXPECT_GT(drawn.ink_fraction, 2 * text_only.ink_fraction);
  EXPECT_GT(drawn.shades, 40);
  std::printf("screenshot: %.1f%% ink in %d shades (without figures %.1f%%)\n",
              100 * drawn.ink_fraction, drawn.shades, 100 * text_only.ink_fraction);
}

TEST_F(CompressReport, MissingRunIsAClearError) {
  fs::create_directories(dir_ / "empty-run");
  EXPECT_NE(run("/usr/bin/python3 " + kReportScript + " -o " + (dir_ / "r.html").string() + " " +
                    (dir_ / "empty-run").string(),
                dir_ / "report.log"),
            0);
  EXPECT_NE(read_bytes(dir_ / "report.log").find((dir_ / "empty-run/report.json").string()),
            std::string::npos)
      << read_bytes(dir_ / "report.log");
  EXPECT_FALSE(fs::exists(dir_ / "r.html"));
}

}  // namespace
