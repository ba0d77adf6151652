// Handwritten digit strings: the fixed MNIST split, the string formats, the
// composition and the writer's determinism, on a small MNIST-format fixture
// made here (the real digits come from npm and are not needed to test this).

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "ocrcore/ocrcore.hpp"
#include "runtime/core/file_io.hpp"
#include "test_util.hpp"
#include "training/data/digit_strings.hpp"

namespace ocrcore::data {
namespace {

// Writes DIGIT.json with `n` 28x28 samples: sample k is a vertical bar whose
// column tells k (column 4 + k % 20) and whose height tells the digit.
void write_fixture(const std::filesystem::path& dir, int n) {
  std::filesystem::create_directories(dir);
  for (int d = 0; d < 10; ++d) {
    std::ofstream f(dir / (std::to_string(d) + ".json"));
    f << "{\"data\": [";
    for (int k = 0; k < n; ++k)
      for (int p = 0; p < 28 * 28; ++p) {
        const int x = p % 28, y = p / 28;
        const bool ink = (x == 4 + k % 20 || x == 5 + k % 20) && y >= 4 && y < 8 + 2 * d;
        f << (k || p ? "," : "") << (ink ? "0.992" : "0");
      }
    f << "]}";
  }
}

TEST(DigitStrings, SplitIsFixedBySampleIndexAndDisjoint) {
  int counts[3] = {0, 0, 0};
  for (std::size_t k = 0; k < 1000; ++k)
    ++counts[static_cast<int>(digit_split_of(k))];
  EXPECT_EQ(counts[0], 700);
  EXPECT_EQ(counts[1], 100);
  EXPECT_EQ(counts[2], 200);

  test::TempDir dir;
  write_fixture(dir.path(), 20);
  const auto train = load_mnist_digits(dir.path(), DigitSplit::train);
  const auto val = load_mnist_digits(dir.path(), DigitSplit::validation);
  const auto test = load_mnist_digits(dir.path(), DigitSplit::test);
  EXPECT_EQ(train.count(), 140u);
  EXPECT_EQ(val.count(), 20u);
  EXPECT_EQ(test.count(), 40u);
  // Cropped to the ink, dark on white, the digit's height kept.
  const Image& three = test.samples[3][0];
  EXPECT_EQ(three.height(), 4 + 2 * 3);
  EXPECT_EQ(three.width(), 2);
  EXPECT_LT(three.at(0, 0), 10);
  EXPECT_EQ(parse_digit_split("val"), DigitSplit::validation);
  EXPECT_THROW(parse_digit_split("dev"), Error);
}

TEST(DigitStrings, MalformedFilesAreNamed) {
  test::TempDir dir;
  write_fixture(dir.path(), 20);
  write_file_atomic(dir.path() / "7.json", std::string_view("{\"data\": [0, 1, 2]}"));
  try {
    load_mnist_digits(dir.path(), DigitSplit::train);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("7.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("28x28"), std::string::npos) << e.what();
  }
  std::filesystem::remove(dir.path() / "4.json");
  EXPECT_THROW(load_mnist_digits(dir.path(), DigitSplit::train), Error);
}

TEST(DigitStrings, FormatsPeopleWrite) {
  std::mt19937_64 rng(5);
  std::set<char> separators;
  int longest = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string s = random_digit_string(20, rng);
    int digits = 0;
    for (char c : s) {
      if (c >= '0' && c <= '9') {
        ++digits;
      } else {
        ASSERT_NE(std::string(" .,-/").find(c), std::string::npos) << s;
        separators.insert(c);
      }
    }
    ASSERT_GE(digits, 1) << s;
    ASSERT_LE(digits, 20) << s;
    ASSERT_NE(s.front(), ' ');
    ASSERT_NE(s.back(), ' ');
    longest = std::max(longest, digits);
  }
  EXPECT_EQ(separators, (std::set<char>{' ', '.', ',', '-', '/'}));
  EXPECT_EQ(longest, 20);
  std::mt19937_64 one(1);
  for (int i = 0; i < 200; ++i)
    EXPECT_LE(random_digit_string(3, one).size(), 8u);
}

TEST(DigitStrings, ComposedLinesAreInkOnPaperAndGrowWithTheText) {
  test::TempDir dir;
  write_fixture(dir.path(), 20);
  const auto digits = load_mnist_digits(dir.path(), DigitSplit::train);
  std::mt19937_64 a(3), b(3);
  const Image short_line = compose_digit_string("12", digits, a);
  const Image same = compose_digit_string("12", digits, b);
  ASSERT_EQ(short_line.width(), same.width());
  EXPECT_TRUE(std::equal(short_line.data(),
                         short_line.data() + short_line.width() * short_line.height(),
                         same.data()));
  double narrow = 0, wide = 0;
  for (int i = 0; i < 20; ++i) {
    std::mt19937_64 r(100 + i);
    const Image s = compose_digit_string("7", digits, r);
    const Image l = compose_digit_string("12/05/2026 1,234.50", digits, r);
    narrow += s.width() / static_cast<double>(s.height());
    wide += l.width() / static_cast<double>(l.height());
    // Paper at the corners, ink somewhere.
    EXPECT_GT(l.at(0, 0), 200);
    EXPECT_LT(*std::min_element(l.data(), l.data() + l.width() * l.height()), 128);
  }
  EXPECT_GT(wide, 4 * narrow);
  std::mt19937_64 r(1);
  EXPECT_THROW(compose_digit_string("1a", digits, r), Error);
}

TEST(DigitStrings, SameSeedSameFiles) {
  test::TempDir dir;
  write_fixture(dir.path() / "mnist", 20);
  DigitStringSettings s;
  s.mnist_dir = dir.path() / "mnist";
  s.count = 6;
  s.seed = 9;
  s.threads = 2;
  EXPECT_EQ(synthesize_digit_strings(s, dir.path() / "a"), 6);
  s.threads = 1;
  synthesize_digit_strings(s, dir.path() / "b");
  for (int i = 1; i <= 6; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%06d", i);
    const auto gt = detail::read_text_file(dir.path() / "a" / (std::string(name) + ".gt.txt"));
    EXPECT_EQ(gt, detail::read_text_file(dir.path() / "b" / (std::string(name) + ".gt.txt")));
    const Image x = load_image(dir.path() / "a" / (std::string(name) + ".png"));
    const Image y = load_image(dir.path() / "b" / (std::string(name) + ".png"));
    ASSERT_EQ(x.width(), y.width());
    EXPECT_TRUE(std::equal(x.data(), x.data() + x.width() * x.height(), y.data()));
  }
}

}  // namespace
}  // namespace ocrcore::data
