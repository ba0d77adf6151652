#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace ocrcore;

TEST(Metrics, CharacterErrors) {
  auto e = character_errors("helo world", "hello world");
  EXPECT_EQ(e.errors, 1u);
  EXPECT_EQ(e.reference_length, 11u);
  EXPECT_EQ(character_errors("", "abc").errors, 3u);
  EXPECT_EQ(character_errors("abc", "").errors, 3u);
  EXPECT_EQ(character_errors("kitten", "sitting").errors, 3u);
}

TEST(Metrics, WhitespaceIsNormalisedOnBothSides) {
  auto e = character_errors("  hello \t  world ", "hello world\n");
  EXPECT_EQ(e.errors, 0u);
  EXPECT_EQ(e.reference_length, 11u);
  EXPECT_EQ(normalize_whitespace(U"\u00a0a\u2003 b  "), U"a b");
}

TEST(Metrics, CodePointsNotBytes) {
  // "é" is 2 bytes, "€" 3: one substitution each.
  auto e = character_errors("caf\xc3\xa9 \xe2\x82\xac", "cafe $");
  EXPECT_EQ(e.errors, 2u);
  EXPECT_EQ(e.reference_length, 6u);
}

TEST(Metrics, WordErrors) {
  auto e = word_errors("the quick brown fox", "the quick brown fax jumps");
  EXPECT_EQ(e.errors, 2u);
  EXPECT_EQ(e.reference_length, 5u);
  ErrorCount sum;
  sum += e;
  sum += word_errors("a b", "a b");
  EXPECT_EQ(sum.reference_length, 7u);
  EXPECT_NEAR(sum.rate(), 2.0 / 7.0, 1e-12);
}

TEST(Metrics, Utf8) {
  EXPECT_TRUE(is_valid_utf8("abc \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));      // truncated
  EXPECT_THROW(character_errors("ok", "bad \xff"), Error);
  std::u32string s = U"a\u00e9\u20ac\U0001F600";
  EXPECT_EQ(utf8_decode(utf8_encode(s)), s);
}
