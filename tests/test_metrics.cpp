#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "test_util.hpp"
#include "tool_support/error_report.hpp"

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

TEST(Metrics, CharacterEditsAreAMinimalAlignment) {
  using E = CharacterEdit;
  EXPECT_EQ(character_edits("is fur ther", "is further"), (std::vector<E>{{"", " "}}));
  EXPECT_EQ(character_edits("AIthough", "Although"), (std::vector<E>{{"l", "I"}}));
  EXPECT_EQ(character_edits("surtace.", "surface"), (std::vector<E>{{"f", "t"}, {"", "."}}));
  EXPECT_EQ(character_edits("abc", "abc"), std::vector<E>{});
  EXPECT_EQ(character_edits("", "ab"), (std::vector<E>{{"a", ""}, {"b", ""}}));
  EXPECT_EQ(character_edits("\xc3\xa9t\xc3\xa9", "ete"),  // code points, not bytes
            (std::vector<E>{{"e", "\xc3\xa9"}, {"e", "\xc3\xa9"}}));
  // As many edits as the edit distance, on random strings of a small alphabet.
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> len(0, 12), ch(0, 3);
  for (int trial = 0; trial < 500; ++trial) {
    std::string a, b;
    for (int i = len(rng); i > 0; --i)
      a += "ab c"[ch(rng)];
    for (int i = len(rng); i > 0; --i)
      b += "ab c"[ch(rng)];
    EXPECT_EQ(character_edits(a, b).size(), character_errors(a, b).errors) << a << " | " << b;
  }
}

TEST(ErrorReport, CountsConfusionsAndRanksLines) {
  tools::ErrorReport report;
  report.add("a.png", "is fur ther assumed", "is further assumed");
  report.add("b.png", "AIthough it is", "Although it is");
  report.add("c.png", "measur ing", "measuring");
  report.add("d.png", "exact", "exact");
  EXPECT_EQ(report.total_edits(), 3u);
  const auto top = report.confusions(10);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].reference, "");
  EXPECT_EQ(top[0].hypothesis, " ");
  EXPECT_EQ(top[0].count, 2u);
  EXPECT_EQ(top[1].reference, "l");
  EXPECT_EQ(top[1].hypothesis, "I");
  EXPECT_EQ(report.confusions(1).size(), 1u);
  // Equal error counts: the higher rate first; error-free lines are not listed.
  const auto worst = report.worst_lines(10);
  ASSERT_EQ(worst.size(), 3u);
  EXPECT_EQ(worst[0].id, "c.png");
  const std::string text = report.text(5, 2);
  EXPECT_NE(text.find("2  <space> inserted"), std::string::npos) << text;
  EXPECT_NE(text.find("'l' read as 'I'"), std::string::npos) << text;
  const auto j = nlohmann::json::parse(report.json(5, 5));
  EXPECT_EQ(j["edits"], 3);
  EXPECT_EQ(j["confusions"][0]["count"], 2);
  EXPECT_EQ(j["worst_lines"].size(), 3u);
  EXPECT_EQ(j["worst_lines"][0]["reference"], "measuring");
}
