// Lines turned by 90, 180 and 270 degrees read upright (Orientation::automatic),
// upright lines untouched, and the parts: turning an image, which turns a
// doubted reading gets, which reading wins.

#include <gtest/gtest.h>

#include <sstream>

#include "ocrcore/recognizer.hpp"
#include "runtime/image/orientation.hpp"
#include "test_util.hpp"
#include "tool_support/line_sources.hpp"

using namespace ocrcore;
namespace fs = std::filesystem;

namespace {

// 3 x 2, every pixel its own value: where each lands shows the turn.
Image numbered() {
  Image im(3, 2);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x)
      im.at(x, y) = static_cast<std::uint8_t>(10 * y + x);
  return im;
}

std::vector<std::uint8_t> pixels(const Image& im) {
  std::vector<std::uint8_t> v;
  for (int y = 0; y < im.height(); ++y)
    for (int x = 0; x < im.width(); ++x)
      v.push_back(im.at(x, y));
  return v;
}

LineResult reading(std::initializer_list<float> confidences) {
  LineResult r;
  for (float c : confidences) {
    CharResult ch;
    ch.text = "a";
    ch.confidence = c;
    r.chars.push_back(ch);
    r.text += "a";
  }
  return r;
}

// The bundled samples (lines the project rendered), loaded.
std::vector<Image> sample_images(std::vector<std::string>* texts) {
  std::istringstream none;
  auto sources = attach_ground_truth(
      expand_inputs({(fs::path(OCRCORE_SOURCE_DIR) / "models" / "samples").string()}, none),
      std::nullopt);
  std::vector<Image> images;
  for (const auto& s : sources) {
    images.push_back(load_image(s.image));
    if (texts) texts->push_back(s.ground_truth.value_or(""));
  }
  return images;
}

}  // namespace

TEST(Orientation, RotateImageTurnsClockwise) {
  const Image im = numbered();
  // Clockwise by 90: the left column (0, 10) becomes the top row, bottom first.
  const Image r90 = detail::rotate_image(im, 90);
  ASSERT_EQ(r90.width(), 2);
  ASSERT_EQ(r90.height(), 3);
  EXPECT_EQ(pixels(r90), (std::vector<std::uint8_t>{10, 0, 11, 1, 12, 2}));
  const Image r180 = detail::rotate_image(im, 180);
  EXPECT_EQ(pixels(r180), (std::vector<std::uint8_t>{12, 11, 10, 2, 1, 0}));
  const Image r270 = detail::rotate_image(im, 270);
  EXPECT_EQ(pixels(r270), (std::vector<std::uint8_t>{2, 12, 1, 11, 0, 10}));
  EXPECT_EQ(pixels(detail::rotate_image(im, 0)), pixels(im));
  // Four quarter turns, or a quarter turn each way, give the image back.
  Image back = im;
  for (int i = 0; i < 4; ++i)
    back = detail::rotate_image(back, 90);
  EXPECT_EQ(pixels(back), pixels(im));
  EXPECT_EQ(pixels(detail::rotate_image(r90, 270)), pixels(im));
  EXPECT_EQ(pixels(detail::rotate_image(r180, 180)), pixels(im));
  EXPECT_THROW(detail::rotate_image(im, 45), Error);
}

TEST(Orientation, OnlyDoubtedReadingsAreTriedTurned) {
  const Image wide(40, 10), tall(10, 40);
  EXPECT_FLOAT_EQ(detail::reading_confidence(reading({0.9f, 1.0f})), 0.95f);
  EXPECT_EQ(detail::reading_confidence(LineResult{}), 0.0f);
  EXPECT_TRUE(detail::turns_to_try(wide, reading({0.99f, 0.95f})).empty());
  EXPECT_EQ(detail::turns_to_try(wide, reading({0.99f, 0.5f})), (std::vector<int>{180}));
  EXPECT_EQ(detail::turns_to_try(tall, LineResult{}), (std::vector<int>{90, 270}));
  EXPECT_TRUE(detail::turns_to_try(tall, reading({0.98f})).empty());
  // A turned reading wins only when the network is sure of it and surer than before.
  EXPECT_TRUE(detail::better_reading(reading({0.99f}), reading({0.5f})));
  EXPECT_FALSE(detail::better_reading(reading({0.9f}), reading({0.5f})));
  EXPECT_FALSE(detail::better_reading(reading({0.95f}), reading({0.97f})));
  EXPECT_FALSE(detail::better_reading(LineResult{}, LineResult{}));
}

TEST(Orientation, TurnedLinesReadUprightAndUprightOnesStay) {
  std::vector<std::string> texts;
  const std::vector<Image> upright = sample_images(&texts);
  ASSERT_GE(upright.size(), 10u);
  auto model = Model::load(OCRCORE_DEFAULT_MODEL);
  Recognizer automatic(model, {.threads = 1});
  Recognizer as_given(model, {.threads = 1, .orientation = Orientation::upright});
  auto read_all = [](Recognizer& r, const std::vector<Image>& images) {
    const std::vector<ImageView> views(images.begin(), images.end());
    std::vector<LineResult> out;
    for (auto& o : r.recognize_each(views, 4)) {
      EXPECT_TRUE(o.result) << (o.error ? o.error->what() : "");
      out.push_back(o.result.value_or(LineResult{}));
    }
    return out;
  };
  const auto reference = read_all(as_given, upright);
  // Upright lines: exactly what reading them as given gives.
  const auto upright_auto = read_all(automatic, upright);
  for (std::size_t i = 0; i < upright.size(); ++i) {
    EXPECT_EQ(upright_auto[i].rotation, 0) << i;
    EXPECT_EQ(upright_auto[i].text, reference[i].text) << i;
    EXPECT_EQ(upright_auto[i].confidence, reference[i].confidence) << i;
  }
  for (int applied : {90, 180, 270}) {
    SCOPED_TRACE("lines turned clockwise by " + std::to_string(applied));
    std::vector<Image> turned;
    for (const Image& im : upright)
      turned.push_back(detail::rotate_image(im, applied));
    const auto read = read_all(automatic, turned);
    const auto given = read_all(as_given, turned);
    std::size_t same = 0;
    for (std::size_t i = 0; i < turned.size(); ++i) {
      // Turned back by the rest of the circle, and read as the upright line.
      EXPECT_EQ(read[i].rotation, (360 - applied) % 360) << i << ": " << texts[i];
      EXPECT_EQ(read[i].text, reference[i].text) << i;
      EXPECT_EQ(given[i].rotation, 0);
      same += given[i].text == reference[i].text;
    }
    EXPECT_EQ(same, 0u) << "read as given, a turned line does not read as the upright one";
  }
  // The batch call turns lines too.
  const Image half = detail::rotate_image(upright[0], 180);
  const LineResult one = automatic.recognize(half);
  EXPECT_EQ(one.rotation, 180);
  EXPECT_EQ(one.text, reference[0].text);
}
