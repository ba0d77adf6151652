// Data pipeline: alphabet encoding and unknown characters, dataset readers,
// augmentation, the renderer's determinism and the loader's order, bucketing
// and resumption.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include "ocrcore/ocrcore.hpp"
#include "test_util.hpp"
#include "training/data/augment.hpp"
#include "training/data/batch_loader.hpp"
#include "training/data/codec.hpp"
#include "training/data/dataset.hpp"
#include "training/data/line_renderer.hpp"
#include "training/data/synth.hpp"

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
  // Plain lines, and lines with a writer's irregularity (--handwriting).
  for (const double handwriting : {0.0, 1.0}) {
    SCOPED_TRACE(handwriting);
    test::TempDir one, two;
    SynthSettings s = small_synth(12);
    s.handwriting = handwriting;
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
      EXPECT_LT(*std::min_element(im.data(), im.data() + im.width() * im.height()), 200)
          << name << ": blank";
    }
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

TEST(Renderer, LeavesOutSymbolFonts) {
  // Standard Symbols draws 'a' as alpha and Dingbats as an ornament: lines in
  // them would not show their transcriptions.
  const std::filesystem::path urw = "/usr/share/fonts/opentype/urw-base35";
  const std::vector<std::filesystem::path> fonts = {
      urw / "StandardSymbolsPS.otf", urw / "D050000L.otf", urw / "NimbusRoman-Regular.otf"};
  for (const auto& f : fonts)
    if (!std::filesystem::exists(f)) GTEST_SKIP() << f << " not installed (fonts-urw-base35)";
  LineRenderer r(fonts, {"a", "Q"});
  ASSERT_EQ(r.font_count(), 1u);
  EXPECT_EQ(r.font_name(0), "NimbusRoman-Regular.otf");
  ASSERT_EQ(r.excluded().size(), 2u);
  EXPECT_NE(r.excluded()[0].find("symbol font: 'a' is drawn as glyph 'alpha'"), std::string::npos)
      << r.excluded()[0];
  EXPECT_NE(r.excluded()[1].find("symbol font"), std::string::npos) << r.excluded()[1];
  // Every text face of the families the training scripts use stays in.
  if (have_fonts()) {
    const auto dejavu = find_fonts({kDejaVu.string()});
    EXPECT_EQ(LineRenderer(dejavu, {"a"}).font_count(), dejavu.size());
  }
}

TEST(Renderer, LeavesOutFacesThatDrawNothing) {
  // Seto's "ex" face maps Latin code points to empty glyphs (it holds kanji):
  // its lines would be blank images labelled with text.
  const std::filesystem::path seto = "/usr/share/fonts/truetype/seto";
  if (!std::filesystem::exists(seto / "setofont-ex.ttf") ||
      !std::filesystem::exists(seto / "setofont.ttf"))
    GTEST_SKIP() << "fonts-seto not installed (setup-deps.sh --training-data)";
  LineRenderer r({seto / "setofont-ex.ttf", seto / "setofont.ttf"}, {"a", "0"});
  ASSERT_EQ(r.font_count(), 1u);
  EXPECT_EQ(r.font_name(0), "setofont.ttf");
  ASSERT_EQ(r.excluded().size(), 1u);
  EXPECT_NE(r.excluded()[0].find("draws nothing for 'a'"), std::string::npos) << r.excluded()[0];
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

TEST(BatchLoader, MeasuresEachRanksShareOfTheWidths) {
  if (!have_fonts()) GTEST_SKIP() << "DejaVu fonts not installed";
  test::TempDir dir;
  synthesize_lines(small_synth(9), dir.path());
  test::write_bytes(dir / "broken.png", "not a png");
  test::write_bytes(dir / "broken.gt.txt", "x\n");
  const Codec codec(printable_ascii_alphabet());
  auto lines = read_dataset({dir.path().string()}, codec, UnknownCharacters::skip_line, nullptr);
  ASSERT_EQ(lines.size(), 10u);
  Preprocessing pre;
  pre.height = 16;
  const std::vector<int> alone = measure_widths(lines, pre, 0, 1, 2);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].image.filename() == "broken.png") {
      EXPECT_EQ(alone[i], -1) << "unreadable";
      continue;
    }
    EXPECT_EQ(alone[i], prepare_line(lines[i].image, pre, nullptr, 0).width) << i;
  }
  // Three ranks: each measures lines rank, rank + 3, ...; the sum is the whole.
  std::vector<int> sum(lines.size(), 0);
  for (int rank = 0; rank < 3; ++rank) {
    const std::vector<int> share = measure_widths(lines, pre, rank, 3, 1);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i % 3 != static_cast<std::size_t>(rank)) EXPECT_EQ(share[i], 0) << rank << ", " << i;
      sum[i] += share[i];
    }
  }
  EXPECT_EQ(sum, alone);
  EXPECT_THROW(measure_widths(lines, pre, 3, 3, 1), Error);
}

TEST(BatchLoader, RanksShareEachGlobalBatchWithoutOverlap) {
  if (!have_fonts()) GTEST_SKIP() << "DejaVu fonts not installed";
  test::TempDir dir;
  synthesize_lines(small_synth(40), dir.path());
  const Codec codec(printable_ascii_alphabet());
  auto lines = read_dataset({dir.path().string()}, codec, UnknownCharacters::skip_line, nullptr);
  LoaderSettings s;
  s.batch_size = 6;
  s.pool_batches = 3;
  s.seed = 5;
  s.preprocessing.height = 16;
  const auto widths =
      std::make_shared<const std::vector<int>>(measure_widths(lines, s.preprocessing, 0, 1, 1));
  // As ranks form batches: from widths measured before training, or predicted.
  for (BatchWidths planned : {BatchWidths::premeasured, BatchWidths::predicted}) {
    SCOPED_TRACE(batch_widths_name(planned));
    s.widths = planned;
    s.line_widths = planned == BatchWidths::premeasured ? widths : nullptr;
    // The batches (sets of lines) of 14 steps, crossing an epoch.
    auto take = [&](int rank, int ranks) {
      LoaderSettings r = s;
      r.rank = rank;
      r.ranks = ranks;
      BatchLoader loader(lines, r);
      std::vector<std::vector<std::size_t>> out;
      for (int i = 0; i < 14; ++i)
        out.push_back(loader.next().indices);
      return out;
    };
    const auto alone = take(0, 1);
    for (int ranks : {2, 3}) {
      std::vector<std::vector<std::vector<std::size_t>>> shares;
      for (int r = 0; r < ranks; ++r)
        shares.push_back(take(r, ranks));
      for (int i = 0; i < 14; ++i) {
        std::multiset<std::size_t> together;
        for (int r = 0; r < ranks; ++r) {
          EXPECT_FALSE(shares[r][i].empty()) << ranks << " ranks, rank " << r << ", step " << i;
          together.insert(shares[r][i].begin(), shares[r][i].end());
        }
        EXPECT_EQ(together, std::multiset<std::size_t>(alone[i].begin(), alone[i].end()))
            << ranks << " ranks, step " << i;
      }
    }
  }
  // Premeasured widths plan batches of lines of about one width; the
  // unaugmented widths are the loaded lines' own here.
  s.widths = BatchWidths::premeasured;
  s.line_widths = widths;
  s.augment = false;
  {
    BatchLoader loader(lines, s);
    for (int i = 0; i < 7; ++i) {
      const Batch b = loader.next();
      for (std::size_t j = 0; j < b.lines.size(); ++j)
        EXPECT_EQ(b.lines[j].width, (*widths)[b.indices[j]]);
    }
  }
  LoaderSettings bad = s;
  bad.rank = 2;
  bad.ranks = 2;
  EXPECT_THROW(BatchLoader(lines, bad), Error);
  bad.rank = 1;
  bad.widths = BatchWidths::measured;  // a rank cannot load the whole pool to measure it
  EXPECT_THROW(BatchLoader(lines, bad), Error);
  bad.widths = BatchWidths::premeasured;
  bad.line_widths = nullptr;  // no widths to plan from
  EXPECT_THROW(BatchLoader(lines, bad), Error);
  EXPECT_EQ(parse_batch_widths("premeasured"), BatchWidths::premeasured);
  EXPECT_THROW(parse_batch_widths("guessed"), Error);
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

TEST(BatchLoader, SkipsLinesWithFarMoreFramesThanCharacters) {
  // A hair-thin crop normalises to a line thousands of pixels wide; as the
  // widest line of its batch it would set every line's width.
  test::TempDir dir;
  Image normal(60, 20, 255), thin(2000, 20, 255);
  for (int x = 5; x < 55; ++x)
    normal.at(x, 10) = 0;
  for (int x = 5; x < 1995; ++x)
    thin.at(x, 10) = 0;
  save_png(dir / "a.png", normal);
  test::write_bytes(dir / "a.gt.txt", "ab\n");
  save_png(dir / "b.png", thin);
  test::write_bytes(dir / "b.gt.txt", "ab\n");
  const Codec codec(printable_ascii_alphabet());
  auto lines = read_dataset({dir.path().string()}, codec, UnknownCharacters::skip_line, nullptr);
  LoaderSettings s;
  s.batch_size = 8;
  s.augment = false;
  s.preprocessing.height = 16;
  s.frames_for_width = [](int width) { return width / 4; };
  BatchLoader loader(lines, s);
  Batch b = loader.next();
  ASSERT_EQ(b.lines.size(), 1u);
  EXPECT_EQ(b.lines[0].width, 48);
  ASSERT_EQ(b.problems.size(), 1u);
  EXPECT_NE(b.problems[0].find("b.png: 400 frames are too many for its 2 characters"),
            std::string::npos)
      << b.problems[0];
}

}  // namespace
}  // namespace ocrcore::data

namespace ocrcore::data {

TEST(Kanungo, FlipsOnlyNearTheBoundaryAtTheModelsRates) {
  // A filled rectangle: with eta 0 only pixels near its edge may flip, at
  // about alpha0 * exp(-alpha) on the boundary itself.
  Image im(200, 120, 255);
  for (int y = 20; y < 100; ++y)
    for (int x = 20; x < 180; ++x)
      im.at(x, y) = 0;
  KanungoParams k;
  k.alpha0 = k.beta0 = 1.0;
  k.alpha = k.beta = 2.0;
  k.eta = 0.0;
  k.closing = 1;
  Image noisy = im;
  std::mt19937_64 rng(3);
  kanungo(noisy, k, rng);
  int boundary_flips = 0, boundary = 0, deep_flips = 0;
  for (int y = 0; y < im.height(); ++y)
    for (int x = 0; x < im.width(); ++x) {
      const bool flipped = noisy.at(x, y) != im.at(x, y);
      EXPECT_TRUE(noisy.at(x, y) == 0 || noisy.at(x, y) == 255);
      const bool on_edge =
          (x == 20 || x == 179 || y == 20 || y == 99) && x >= 20 && x < 180 && y >= 20 && y < 100;
      const bool deep = x >= 30 && x < 170 && y >= 30 && y < 90;
      boundary += on_edge;
      boundary_flips += on_edge && flipped;
      deep_flips += deep && flipped;
    }
  EXPECT_EQ(deep_flips, 0);
  const double rate = double(boundary_flips) / boundary, expected = std::exp(-2.0);
  EXPECT_NEAR(rate, expected, 0.04) << boundary << " boundary pixels";
  // No noise at all leaves the image as it was; the same seed gives the same flips.
  KanungoParams none;
  none.alpha0 = none.beta0 = none.eta = 0;
  none.closing = 1;
  Image same = im;
  kanungo(same, none, rng);
  EXPECT_EQ(std::vector<std::uint8_t>(same.data(), same.data() + same.width() * same.height()),
            std::vector<std::uint8_t>(im.data(), im.data() + im.width() * im.height()));
  Image again = im;
  std::mt19937_64 rng2(3);
  kanungo(again, k, rng2);
  EXPECT_EQ(std::vector<std::uint8_t>(again.data(), again.data() + again.width() * again.height()),
            std::vector<std::uint8_t>(noisy.data(), noisy.data() + noisy.width() * noisy.height()));
}

TEST(Synth, TypographicQuotesAreTranscribedAsTexQuotes) {
  if (!have_fonts()) GTEST_SKIP() << "DejaVu fonts not installed";
  test::TempDir dir;
  std::string quotes;
  for (const char* word : {"yes", "no", "maybe", "them", "later", "never", "always", "here",
                           "there", "soon", "now", "then", "why", "how", "who", "what"})
    for (int r = 0; r < 2; ++r)
      quotes += std::string("He said \"") + word + "\" and went on. ";
  test::write_bytes(dir / "quotes.txt", quotes + "\n");
  SynthSettings s = small_synth(12);
  s.corpus = {dir / "quotes.txt"};
  s.min_chars = 30;
  s.max_chars = 60;
  for (double p : {0.0, 1.0}) {
    s.typographic_quotes = p;
    const auto out = dir / (p > 0 ? "curly" : "straight");
    synthesize_lines(s, out);
    int quoted = 0;
    for (int i = 1; i <= 12; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "%06d", i);
      const std::string gt = test::read_bytes(out / (std::string(name) + ".gt.txt"));
      const bool straight = gt.find('"') != std::string::npos,
                 tex = gt.find("``") != std::string::npos || gt.find("''") != std::string::npos;
      quoted += straight || tex;
      EXPECT_FALSE(p > 0 ? straight : tex) << gt;
      if (p > 0 && gt.find("``") != std::string::npos)
        EXPECT_LT(gt.find("``"), gt.find("''", gt.find("``"))) << "opening before closing: " << gt;
    }
    EXPECT_GT(quoted, 6);
  }
}

// Latin Modern Mono draws the curly double quotes exactly as the straight
// one: its quotes stay straight in the transcription, since the image cannot
// tell a reader otherwise.
TEST(Synth, QuotesAFaceDrawsAlikeStayStraight) {
  const std::filesystem::path mono =
      "/usr/share/texmf/fonts/opentype/public/lm/lmmono10-regular.otf";
  if (!have_fonts() || !std::filesystem::exists(mono))
    GTEST_SKIP() << "DejaVu or Latin Modern (fonts-lmodern) not installed";
  LineRenderer r({mono, kDejaVu / "DejaVuSans.ttf"}, {"a"});
  EXPECT_TRUE(r.draws_alike(0, U'\u201C', U'"'));
  EXPECT_TRUE(r.draws_alike(0, U'\u201D', U'"'));
  EXPECT_FALSE(r.draws_alike(1, U'\u201C', U'"'));
  EXPECT_FALSE(r.draws_alike(1, U'\u201D', U'"'));
  EXPECT_FALSE(r.draws_alike(1, U'o', U'e'));
  EXPECT_TRUE(r.draws_alike(1, U'x', U'x'));
  test::TempDir dir;
  std::string quotes;
  for (const char* word : {"yes", "no", "maybe", "them", "later", "never", "always", "here"})
    for (int r = 0; r < 4; ++r)
      quotes += std::string("He said \"") + word + "\" and went on. ";
  test::write_bytes(dir / "quotes.txt", quotes + "\n");
  SynthSettings s = small_synth(8);
  s.corpus = {dir / "quotes.txt"};
  s.fonts = {mono};
  s.min_chars = 30;
  s.max_chars = 60;
  s.typographic_quotes = 1.0;
  synthesize_lines(s, dir / "lines");
  int straight = 0;
  for (int i = 1; i <= 8; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%06d", i);
    const std::string gt = test::read_bytes(dir / "lines" / (std::string(name) + ".gt.txt"));
    EXPECT_EQ(gt.find("``"), std::string::npos) << gt;
    straight += gt.find('"') != std::string::npos;
  }
  EXPECT_GT(straight, 4);
}

TEST(Synth, SmallCapitalsAreTranscribedAsCapitals) {
  const std::filesystem::path caps =
      "/usr/share/texmf/fonts/opentype/public/lm/lmromancaps10-regular.otf";
  if (!have_fonts() || !std::filesystem::exists(caps))
    GTEST_SKIP() << "DejaVu or Latin Modern (fonts-lmodern) not installed";
  LineRenderer r({caps, kDejaVu / "DejaVuSans.ttf"}, {"a"});
  EXPECT_TRUE(r.is_small_caps(0));
  EXPECT_FALSE(r.is_small_caps(1));
  test::TempDir dir;
  SynthSettings s = small_synth(6);
  s.fonts = {caps};
  synthesize_lines(s, dir.path());
  for (int i = 1; i <= 6; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%06d", i);
    const std::string gt = test::read_bytes(dir / (std::string(name) + ".gt.txt"));
    for (char c : gt)
      EXPECT_FALSE(std::islower(static_cast<unsigned char>(c))) << gt;
  }
}

TEST(Synth, ScanResolutionBinarisedTypewriterLines) {
  if (!have_fonts()) GTEST_SKIP() << "DejaVu fonts not installed";
  test::TempDir dir;
  SynthSettings s = small_synth(16);
  s.height = 0;
  s.dpi_min = 200;
  s.dpi_max = 400;
  s.binarized = 1.0;
  s.monospaced = 0.5;
  s.hyphenate = 1.0;
  synthesize_lines(s, dir.path());
  int min_h = 1 << 30, max_h = 0, hyphenated = 0;
  for (int i = 1; i <= 16; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%06d", i);
    Image im = load_image(dir / (std::string(name) + ".png"));
    min_h = std::min(min_h, im.height());
    max_h = std::max(max_h, im.height());
    for (int y = 0; y < im.height(); ++y)
      for (int x = 0; x < im.width(); ++x)
        ASSERT_TRUE(im.at(x, y) == 0 || im.at(x, y) == 255) << name << " is not binary";
    std::string gt = test::read_bytes(dir / (std::string(name) + ".gt.txt"));
    hyphenated += gt.size() > 2 && gt[gt.size() - 2] == '-';
  }
  // Sizes follow point size x resolution instead of one fixed height.
  EXPECT_GT(max_h, min_h + 10);
  EXPECT_GT(hyphenated, 0);
}

TEST(Synth, MinimumMarginKeepsInkOffTheBorder) {
  if (!have_fonts()) GTEST_SKIP() << "DejaVu fonts not installed";
  // Scan-like lines, degraded: flush crops put ink on the border of some
  // lines; a margin of 3 pixels keeps every line's border paper.
  auto ink_on_border = [](const Image& im) {
    for (int x = 0; x < im.width(); ++x)
      if (im.at(x, 0) < 128 || im.at(x, im.height() - 1) < 128) return true;
    for (int y = 0; y < im.height(); ++y)
      if (im.at(0, y) < 128 || im.at(im.width() - 1, y) < 128) return true;
    return false;
  };
  auto count = [&](int margin) {
    test::TempDir dir;
    SynthSettings s = small_synth(24);
    s.height = 0;
    s.binarized = 0.5;
    s.degrade = 1.0;
    s.min_margin = margin;
    synthesize_lines(s, dir.path());
    int touching = 0;
    for (int i = 1; i <= 24; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "%06d.png", i);
      touching += ink_on_border(load_image(dir / name));
    }
    return touching;
  };
  EXPECT_GT(count(0), 0) << "no flush crop to compare with";
  EXPECT_EQ(count(3), 0);
}

TEST(Augment, SpecksAreSmallDarkBlobs) {
  auto dark = [](const Image& im) {
    int n = 0;
    for (int y = 0; y < im.height(); ++y)
      for (int x = 0; x < im.width(); ++x)
        n += im.at(x, y) < 128;
    return n;
  };
  std::mt19937_64 rng(4);
  Image im(200, 60, 255);
  add_specks(im, 3, 2.0, 20, rng);
  // Three discs of radius 0.6 to 2: a pixel each at least, 13 at most.
  EXPECT_GE(dark(im), 3);
  EXPECT_LE(dark(im), 3 * 13);
  for (int y = 0; y < im.height(); ++y)
    for (int x = 0; x < im.width(); ++x)
      EXPECT_TRUE(im.at(x, y) == 255 || im.at(x, y) == 20);
  std::mt19937_64 again(4);
  Image twin(200, 60, 255);
  add_specks(twin, 3, 2.0, 20, again);
  EXPECT_EQ(std::vector<std::uint8_t>(im.data(), im.data() + 200 * 60),
            std::vector<std::uint8_t>(twin.data(), twin.data() + 200 * 60));
}

TEST(Synth, SpecksAddInkButNoText) {
  if (!have_fonts()) GTEST_SKIP() << "DejaVu fonts not installed";
  test::TempDir plain, dusty;
  SynthSettings s = small_synth(8);
  s.degrade = 0;
  synthesize_lines(s, plain.path());
  s.specks = 1.0;
  synthesize_lines(s, dusty.path());
  int more_ink = 0;
  for (int i = 1; i <= 8; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%06d", i);
    const std::string base(name);
    // The same text, and the same line drawn (the specks come last).
    EXPECT_EQ(test::read_bytes(plain / (base + ".gt.txt")),
              test::read_bytes(dusty / (base + ".gt.txt")));
    const Image a = load_image(plain / (base + ".png")), b = load_image(dusty / (base + ".png"));
    ASSERT_EQ(a.width(), b.width());
    ASSERT_EQ(a.height(), b.height());
    int darker = 0, lighter = 0;
    for (int y = 0; y < a.height(); ++y)
      for (int x = 0; x < a.width(); ++x) {
        darker += b.at(x, y) < a.at(x, y);
        lighter += b.at(x, y) > a.at(x, y);
      }
    EXPECT_EQ(lighter, 0) << base;
    more_ink += darker > 0;
  }
  EXPECT_EQ(more_ink, 8);
}

TEST(Renderer, LigaturesAndScripts) {
  if (!have_fonts()) GTEST_SKIP() << "DejaVu fonts not installed";
  LineRenderer r(find_fonts({(kDejaVu / "DejaVuSerif.ttf").string()}), {"a"});
  std::mt19937_64 rng(1);
  RenderStyle style;
  style.pixel_size = 40;
  style.crop_to_ink = true;
  style.pad_left = style.pad_right = style.pad_top = style.pad_bottom = 0;
  const Image plain = r.render("office", 0, style, rng);
  style.ligatures = true;
  const Image joined = r.render("office", 0, style, rng);
  // DejaVu Serif has the ffi ligature: one glyph, a different image.
  EXPECT_NE(
      std::vector<std::uint8_t>(plain.data(), plain.data() + plain.width() * plain.height()),
      std::vector<std::uint8_t>(joined.data(), joined.data() + joined.width() * joined.height()));
  // A superscript reaches above the x-height letters it follows; a subscript below.
  style.ligatures = false;
  const Image base = r.render("xx", 0, style, rng);
  style.script = {0, 1};
  const Image sup = r.render("xx", 0, style, rng);
  style.script = {0, -1};
  const Image sub = r.render("xx", 0, style, rng);
  EXPECT_GT(sup.height(), base.height());
  EXPECT_GT(sub.height(), base.height());
}

}  // namespace ocrcore::data
