// Data pipeline: alphabet encoding and unknown characters, dataset readers,
// augmentation, the renderer's determinism and the loader's order, bucketing
// and resumption.

#include <gtest/gtest.h>

#include <fstream>

#include "data/augment.hpp"
#include "data/batch_loader.hpp"
#include "data/codec.hpp"
#include "data/dataset.hpp"
#include "data/line_renderer.hpp"
#include "data/synth.hpp"
#include "ocrcore/ocrcore.hpp"
#include "test_util.hpp"

namespace ocrcore::data {
namespace {

const std::filesystem::path kDejaVu = "/usr/share/fonts/truetype/dejavu";

bool have_fonts() {
  return std::filesystem::exists(kDejaVu / "DejaVuSans.ttf");
}

SynthSettings small_synth(int count) {
  SynthSettings s;
  s.corpus = {std::filesystem::path(OCRCORE_FIXTURES_DIR) / "corpus.txt"};
  s.fonts = find_fonts({kDejaVu.string()});
  s.alphabet = printable_ascii_alphabet();
  s.count = count;
  s.height = 32;
  s.max_chars = 30;
  return s;
}

TEST(Codec, EncodesWithPolicies) {
  const Codec codec(printable_ascii_alphabet());
  EXPECT_EQ(codec.classes(), 96);
  auto ab = codec.encode("  ab  c ", UnknownCharacters::skip_line);
  ASSERT_TRUE(ab);
  EXPECT_EQ(codec.decode(*ab), "ab c");  // whitespace normalised as the CER is
  std::vector<std::string> unknown;
  EXPECT_FALSE(codec.encode("caf\xc3\xa9", UnknownCharacters::skip_line, &unknown));
  EXPECT_EQ(unknown, std::vector<std::string>{"\xc3\xa9"});
  EXPECT_EQ(codec.decode(*codec.encode("caf\xc3\xa9", UnknownCharacters::drop)), "caf");
  // Curly quotes, an en dash and the fi ligature map to ASCII.
  EXPECT_EQ(codec.decode(*codec.encode("\xe2\x80\x9cx\xe2\x80\x9d \xe2\x80\x93 \xef\xac\x81ne",
                                       UnknownCharacters::map)),
            "\"x\" - fine");
  EXPECT_THROW(Codec({""}), Error);
  EXPECT_THROW(Codec({"", "a", "a"}), Error);
  EXPECT_THROW(Codec({"", "ab"}), Error);
}

TEST(Dataset, ReportsUnencodableLinesAndReadsTsv) {
  test::TempDir dir;
  Image im(20, 10, 255);
  save_png(dir / "a.png", im);
  save_png(dir / "b.png", im);
  save_png(dir / "c.png", im);
  test::write_bytes(dir / "a.gt.txt", "hello\n");
  test::write_bytes(dir / "b.gt.txt", "na\xc3\xafve\n");
  const Codec codec(printable_ascii_alphabet());
  DatasetReport r;
  auto lines = read_dataset({dir.path().string()}, codec, UnknownCharacters::skip_line, &r);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(r.unencodable, 1u);
  EXPECT_EQ(r.without_ground_truth, 1u);
  EXPECT_EQ(r.unknown_characters.at("\xc3\xaf"), 1u);
  EXPECT_NE(r.summary().find("b.png"), std::string::npos) << r.summary();
  lines = read_dataset({dir.path().string()}, codec, UnknownCharacters::drop, &r);
  EXPECT_EQ(lines.size(), 2u);

  test::write_bytes(dir / "list.tsv", "a.png\tfirst line\nc.png\tthird\n");
  lines = read_dataset({(dir / "list.tsv").string()}, codec, UnknownCharacters::skip_line, nullptr);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].text, "third");
  EXPECT_THROW(
      read_dataset({(dir / "missing").string()}, codec, UnknownCharacters::skip_line, nullptr),
      Error);
}

TEST(Augment, IsSeededAndKeepsInkOnPaper) {
  Image im(80, 24, 255);
  for (int y = 8; y < 16; ++y)
    for (int x = 10; x < 70; ++x)
      im.at(x, y) = 20;
  AugmentSettings all;
  all.geometry = all.elastic = all.morphology = all.blur = all.contrast = all.noise = all.scale =
      1.0;
  all.binarize = 0.0;
  std::mt19937_64 a(5), b(5);
  Image x = augment(im, all, a), y = augment(im, all, b);
  ASSERT_EQ(x.width(), y.width());
  EXPECT_TRUE(std::equal(x.data(), x.data() + x.width() * x.height(), y.data()));
  // Still a dark bar on light paper that normalises to a line.
  LineTensor t = normalize_line(x, Preprocessing{16});
  EXPECT_EQ(t.height, 16);
  Image bin = im;
  binarize(bin, otsu_threshold(bin));
  for (int yy = 0; yy < bin.height(); ++yy)
    for (int xx = 0; xx < bin.width(); ++xx)
      EXPECT_TRUE(bin.at(xx, yy) == 0 || bin.at(xx, yy) == 255);
}

TEST(Synth, SameSeedSameFilesAnyThreadCount) {
  if (!have_fonts()) GTEST_SKIP() << "DejaVu fonts not installed";
  test::TempDir one, two;
  SynthSettings s = small_synth(12);
  s.threads = 1;
  auto r = synthesize_lines(s, one.path());
  EXPECT_EQ(r.written, 12);
  s.threads = 2;
  synthesize_lines(s, two.path());
  for (int i = 1; i <= 12; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%06d", i);
    EXPECT_EQ(test::read_bytes(one / (std::string(name) + ".png")),
              test::read_bytes(two / (std::string(name) + ".png")))
        << name;
    const std::string gt = test::read_bytes(one / (std::string(name) + ".gt.txt"));
    EXPECT_FALSE(gt.empty());
    Image im = load_image(one / (std::string(name) + ".png"));
    EXPECT_EQ(im.height(), 32);
  }
}

TEST(Renderer, LeavesOutFontsWithoutTheAlphabet) {
  if (!have_fonts()) GTEST_SKIP() << "DejaVu fonts not installed";
  auto fonts = find_fonts({kDejaVu.string()});
  // A CJK character DejaVu lacks: every font is left out, which is an error.
  EXPECT_THROW(LineRenderer(fonts, {"a", "\xe4\xb8\xad"}), Error);
  LineRenderer ok(fonts, {"a"});
  EXPECT_GT(ok.font_count(), 0u);
}

TEST(Renderer, RendersDarkInkOnWhite) {
  if (!have_fonts()) GTEST_SKIP() << "DejaVu fonts not installed";
  LineRenderer r(find_fonts({kDejaVu.string()}), {"H", "i"});
  std::mt19937_64 rng(1);
  RenderStyle style;
  Image narrow = r.render("Hi", 0, style, rng), wide = r.render("Hi Hi Hi", 0, style, rng);
  EXPECT_GT(wide.width(), 2 * narrow.width());
  int dark = 0;
  for (int y = 0; y < narrow.height(); ++y)
    for (int x = 0; x < narrow.width(); ++x)
      dark += narrow.at(x, y) < 128;
  EXPECT_GT(dark, 20);
}

TEST(BatchLoader, DeterministicBucketedAndResumable) {
  if (!have_fonts()) GTEST_SKIP() << "DejaVu fonts not installed";
  test::TempDir dir;
  synthesize_lines(small_synth(40), dir.path());
  const Codec codec(printable_ascii_alphabet());
  auto lines = read_dataset({dir.path().string()}, codec, UnknownCharacters::skip_line, nullptr);
  LoaderSettings s;
  s.batch_size = 4;
  s.pool_batches = 3;
  s.seed = 9;
  s.preprocessing.height = 16;
  s.threads = 2;
  auto take = [&](LoaderPosition start, int n) {
    BatchLoader loader(lines, s, start);
    std::vector<std::vector<std::size_t>> order;
    std::vector<LoaderPosition> next;
    for (int i = 0; i < n; ++i) {
      Batch b = loader.next();
      for (std::size_t j = 1; j < b.lines.size(); ++j)
        EXPECT_GE(b.lines[j - 1].width, b.lines[j].width);  // widest first
      order.push_back(b.indices);
      next.push_back(loader.position());
    }
    return std::pair{order, next};
  };
  auto [a, positions] = take({}, 14);  // crosses an epoch (10 batches per epoch)
  auto [b, unused] = take({}, 14);
  EXPECT_EQ(a, b);
  EXPECT_EQ(positions[9].epoch, 1);  // 40 lines / 4 per batch: epoch 1 starts at batch 10
  // Resuming from a saved position continues with the same batches.
  auto [resumed, unused2] = take(positions[5], 8);
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(resumed[i], a[6 + i]) << "batch " << i;
}

TEST(BatchLoader, ReportsBadImagesAndKeepsGoing) {
  test::TempDir dir;
  Image im(60, 20, 255);
  for (int x = 5; x < 55; ++x)
    im.at(x, 10) = 0;
  for (int i = 0; i < 6; ++i) {
    save_png(dir / ("l" + std::to_string(i) + ".png"), im);
    test::write_bytes(dir / ("l" + std::to_string(i) + ".gt.txt"), "ab\n");
  }
  test::write_bytes(dir / "l3.png", "not a png");
  const Codec codec(printable_ascii_alphabet());
  auto lines = read_dataset({dir.path().string()}, codec, UnknownCharacters::skip_line, nullptr);
  LoaderSettings s;
  s.batch_size = 8;
  s.augment = false;
  s.preprocessing.height = 16;
  BatchLoader loader(lines, s);
  Batch b = loader.next();
  EXPECT_EQ(b.lines.size(), 5u);
  ASSERT_EQ(b.problems.size(), 1u);
  EXPECT_NE(b.problems[0].find("l3.png"), std::string::npos) << b.problems[0];
}

}  // namespace
}  // namespace ocrcore::data
