// The one evaluation loop (ocrcore/evaluation.hpp) against scoring each line
// by hand, at several batch sizes, and how it scores unreadable lines.
#include <gtest/gtest.h>

#include <random>

#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::test;

TEST(TextScore, SumsOverLinesBeforeDividing) {
  TextScore score;
  const ErrorCount first = score.add("helo world", "hello world");  // 1 of 11
  EXPECT_EQ(first.errors, 1u);
  EXPECT_EQ(first.reference_length, 11u);
  score.add("x", "ab");  // 2 of 2 characters, 1 of 1 word
  EXPECT_EQ(score.lines, 2u);
  EXPECT_DOUBLE_EQ(score.cer(), 3.0 / 13.0);  // not the mean of 1/11 and 2/2
  EXPECT_DOUBLE_EQ(score.wer(), 2.0 / 3.0);
  TextScore more;
  more.add("", "abc");
  more.unreadable = 1;
  score += more;
  EXPECT_EQ(score.lines, 3u);
  EXPECT_EQ(score.unreadable, 1u);
  EXPECT_EQ(score.chars.errors, 6u);
  EXPECT_EQ(score.chars.reference_length, 16u);
}

namespace {

// Transcriptions of random lines: the recognizer's own reading of some
// (no errors), something else for the others.
struct Scored {
  std::vector<Image> images;
  std::vector<std::string> references;
  TextScore expected;
};

Scored random_lines(Recognizer& oracle, int count) {
  Scored s;
  std::mt19937 rng(5);
  for (int i = 0; i < count; ++i) {
    s.images.push_back(random_image(30 + 41 * (i * 7 % 9), 16, 20u + i));
    const std::string read = oracle.recognize(s.images.back()).text;
    s.references.push_back(i % 3 == 0 ? read : read + (i % 2 ? "ab" : " ba c"));
    s.expected.add(read, s.references.back());
  }
  return s;
}

}  // namespace

TEST(Evaluate, NormalisedLinesScoreAsEachLineOnItsOwn) {
  auto model = random_model(small_crnn(16, 9), 11);
  Recognizer oracle(model,
                    {.decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1});
  const Scored s = random_lines(oracle, 11);
  ASSERT_GT(s.expected.chars.errors, 0u);
  std::vector<LineTensor> lines;
  for (const Image& image : s.images)
    lines.push_back(normalize_line(image, model->preprocessing()));
  Recognizer fast(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 2});
  for (int batch_size : {1, 4, 16}) {
    SCOPED_TRACE("batch size " + std::to_string(batch_size));
    const TextScore got = evaluate(fast, lines, s.references, batch_size);
    EXPECT_EQ(got.chars.errors, s.expected.chars.errors);
    EXPECT_EQ(got.chars.reference_length, s.expected.chars.reference_length);
    EXPECT_EQ(got.words.errors, s.expected.words.errors);
    EXPECT_EQ(got.lines, lines.size());
    EXPECT_EQ(got.unreadable, 0u);
  }
  EXPECT_THROW(evaluate(fast, lines, std::span(s.references).first(3)), Error);
  EXPECT_THROW(evaluate(fast, lines, s.references, 0), Error);
}

TEST(Evaluate, AnUnreadableImageCountsAsReadEmpty) {
  auto model = random_model(small_crnn(16, 9), 12);
  Recognizer oracle(model,
                    {.decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1});
  const Scored s = random_lines(oracle, 5);
  TempDir dir;
  std::vector<LabelledLine> lines;
  for (std::size_t i = 0; i < s.images.size(); ++i) {
    const auto path = dir / ("line" + std::to_string(i) + ".png");
    save_png(path, s.images[i]);
    lines.push_back({path, s.references[i]});
  }
  write_bytes(dir / "broken.png", "not a png");
  lines.push_back({dir / "broken.png", "abc"});
  lines.push_back({dir / "missing.png", "de"});
  Recognizer fast(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1});
  for (int batch_size : {1, 3}) {
    const TextScore got = evaluate(fast, lines, batch_size);
    EXPECT_EQ(got.lines, 7u);
    EXPECT_EQ(got.unreadable, 2u);
    EXPECT_EQ(got.chars.errors, s.expected.chars.errors + 5);
    EXPECT_EQ(got.chars.reference_length, s.expected.chars.reference_length + 5);
  }
}
