#include <gtest/gtest.h>

#include <sstream>

#include "runtime/core/file_io.hpp"
#include "test_util.hpp"
#include "tool_support/line_sources.hpp"

using namespace ocrcore;
using namespace ocrcore::test;
namespace fs = std::filesystem;

namespace {

void touch(const fs::path& p, const std::string& content = "x") {
  fs::create_directories(p.parent_path());
  write_bytes(p, content);
}

}  // namespace

TEST(LineSources, ExpandsFilesDirectoriesListsAndStdin) {
  TempDir dir;
  touch(dir / "b/2.png");
  touch(dir / "b/sub/1.TIF");
  touch(dir / "b/notes.txt");
  touch(dir / "a.jpg");
  touch(dir / "list.txt", "# comment\na.jpg\n\nb/2.png\n");
  std::istringstream in((dir / "a.jpg").string() + "\n");
  auto got = expand_inputs({(dir / "b").string(), "@" + (dir / "list.txt").string(), "-"}, in);
  std::vector<fs::path> want = {dir / "b/2.png", dir / "b/sub/1.TIF", dir / "a.jpg",
                                dir / "b/2.png", dir / "a.jpg"};
  EXPECT_EQ(got, want);
}

TEST(LineSources, Errors) {
  TempDir dir;
  std::istringstream none;
  fs::create_directories(dir / "empty");
  touch(dir / "empty/readme.txt");
  try {
    expand_inputs({(dir / "empty").string()}, none);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("directory holds no images"), std::string::npos);
  }
  EXPECT_THROW(expand_inputs({(dir / "nope.png").string()}, none), Error);
  EXPECT_THROW(expand_inputs({"@" + (dir / "nolist.txt").string()}, none), Error);
}

TEST(LineSources, GroundTruthBesideImage) {
  TempDir dir;
  touch(dir / "010001.bin.png");
  touch(dir / "010001.gt.txt", "Hello world\n");
  touch(dir / "x.png");
  touch(dir / "x.gt.txt", "\xEF\xBB\xBFwith bom\r\n");
  touch(dir / "nogt.png");
  EXPECT_EQ(ground_truth_path(dir / "010001.bin.png"), dir / "010001.gt.txt");
  EXPECT_EQ(read_ground_truth(dir / "010001.gt.txt"), "Hello world");
  EXPECT_EQ(read_ground_truth(dir / "x.gt.txt"), "with bom");
  EXPECT_FALSE(ground_truth_path(dir / "nogt.png").has_value());
}

TEST(LineSources, GroundTruthNotUtf8) {
  TempDir dir;
  touch(dir / "a.png");
  touch(dir / "a.gt.txt", "caf\xe9\n");  // Latin-1
  try {
    read_ground_truth(dir / "a.gt.txt");
    FAIL();
  } catch (const Error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("a.gt.txt"), std::string::npos);
    EXPECT_NE(what.find("not valid UTF-8 (bad byte at offset 3)"), std::string::npos) << what;
  }
  auto sources = attach_ground_truth({dir / "a.png"}, std::nullopt);
  EXPECT_FALSE(sources[0].ground_truth);
  EXPECT_NE(sources[0].ground_truth_error.find("not valid UTF-8"), std::string::npos);
}

TEST(LineSources, GroundTruthTsv) {
  TempDir dir;
  touch(dir / "img/a.png");
  touch(dir / "img/b.png");
  touch(dir / "gt.tsv", "img/a.png\tfirst line\n" + (dir / "img/b.png").string() + "\tsecond\n");
  auto s = attach_ground_truth({dir / "img/a.png", dir / "img/b.png"}, dir / "gt.tsv");
  EXPECT_EQ(s[0].ground_truth, "first line");
  EXPECT_EQ(s[1].ground_truth, "second");
  touch(dir / "bad.tsv", "no tab here\n");
  EXPECT_THROW(read_ground_truth_tsv(dir / "bad.tsv"), Error);
}

// A path the file system refuses (a name longer than it allows) is an Error or
// matches nothing, never a std::filesystem exception escaping the reader.
TEST(LineSources, PathsTheFileSystemRefuses) {
  TempDir dir;
  touch(dir / "img/a.png");
  const std::string too_long(300, 'x');
  touch(dir / "gt.tsv", too_long + "/a.png\tnever\nimg/a.png\tfirst\n");
  EXPECT_EQ(read_ground_truth_tsv(dir / "gt.tsv").size(), 2u);
  auto s = attach_ground_truth({dir / "img/a.png"}, dir / "gt.tsv");
  EXPECT_EQ(s[0].ground_truth, "first");
  try {
    expand_text_inputs({(dir / too_long).string()});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no such corpus file"), std::string::npos) << e.what();
  }
  touch(dir / "corpus/a.txt", "text");
  EXPECT_EQ(expand_text_inputs({(dir / "corpus").string()}).size(), 1u);
}
