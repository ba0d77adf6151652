// Image decoding (formats, depths, colour types), normalisation, bad images.

#include <gtest/gtest.h>
#include <leptonica/allheaders.h>
#include <zlib.h>

#include <random>

#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::test;

namespace {

// A grey test card: paper 230, a dark bar (20) in the middle third.
Image test_card(int w = 60, int h = 24) {
  Image img(w, h, 230);
  for (int y = h / 3; y < 2 * h / 3; ++y)
    for (int x = w / 3; x < 2 * w / 3; ++x)
      img.at(x, y) = 20;
  return img;
}

PIX* to_pix(const Image& img) {
  PIX* pix = pixCreate(img.width(), img.height(), 8);
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x)
      pixSetPixel(pix, x, y, img.at(x, y));
  return pix;
}

// Writes `pix` with leptonica in `format`, frees it, and loads it with ocrcore.
Image round_trip(PIX* pix, int format, const std::filesystem::path& path) {
  EXPECT_EQ(pixWrite(path.c_str(), pix, format), 0);
  pixDestroy(&pix);
  return load_image(path);
}

void expect_card(const Image& got, int tolerance) {
  Image want = test_card();
  ASSERT_EQ(got.width(), want.width());
  ASSERT_EQ(got.height(), want.height());
  int worst = 0;
  for (int y = 0; y < want.height(); ++y)
    for (int x = 0; x < want.width(); ++x)
      worst = std::max(worst, std::abs(int(got.at(x, y)) - int(want.at(x, y))));
  EXPECT_LE(worst, tolerance);
}

void expect_error(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    FAIL() << "no error; expected: " << fragment;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(ImageIo, PngRoundTrip) {
  TempDir dir;
  save_png(dir / "a.png", test_card());
  expect_card(load_image(dir / "a.png"), 0);
}

TEST(ImageIo, GreyFormats) {
  TempDir dir;
  expect_card(round_trip(to_pix(test_card()), IFF_TIFF_ZIP, dir / "a.tif"), 0);
  expect_card(round_trip(to_pix(test_card()), IFF_PNM, dir / "a.pgm"), 0);
  expect_card(round_trip(to_pix(test_card()), IFF_BMP, dir / "a.bmp"), 0);
  expect_card(round_trip(to_pix(test_card()), IFF_JFIF_JPEG, dir / "a.jpg"), 12);  // lossy
}

TEST(ImageIo, DepthsAndColourTypes) {
  TempDir dir;
  // 16-bit grey: the high byte is the value.
  PIX* p8 = to_pix(test_card());
  PIX* p16 = pixConvert8To16(p8, 8);
  expect_card(round_trip(p16, IFF_PNG, dir / "g16.png"), 0);
  // RGB (grey content) and a palette image.
  expect_card(round_trip(pixConvert8To32(p8), IFF_PNG, dir / "rgb.png"), 1);
  expect_card(round_trip(pixConvertGrayToColormap(p8), IFF_PNG, dir / "pal.png"), 1);
  // 1-bit: ink black, paper white.
  PIX* p1 = pixThresholdToBinary(p8, 128);
  Image bin = round_trip(p1, IFF_TIFF_G4, dir / "bin.tif");
  EXPECT_EQ(bin.at(0, 0), 255);
  EXPECT_EQ(bin.at(30, 12), 0);
  // RGBA: transparent paper is white, not black.
  PIX* rgba = pixCreate(10, 4, 32);
  pixSetSpp(rgba, 4);
  pixSetAllArbitrary(rgba, 0x00000000);  // black, fully transparent
  pixSetPixel(rgba, 5, 2, 0x000000ff);   // one opaque black pixel
  Image a = round_trip(rgba, IFF_PNG, dir / "rgba.png");
  EXPECT_GE(a.at(0, 0), 250);
  EXPECT_LE(a.at(5, 2), 5);
  pixDestroy(&p8);
}

// RGBA is composited on white in one pass of ocrcore's own; leptonica's
// alpha blend followed by its luminance conversion is the reference.
TEST(ImageIo, RgbaMatchesLeptonicaBlendAndLuminance) {
  TempDir dir;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> byte(0, 255);
  const int w = 97, h = 31;
  PIX* rgba = pixCreate(w, h, 32);
  pixSetSpp(rgba, 4);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      // Every fourth pixel opaque or fully transparent: the common cases.
      const int a = x % 4 == 0 ? (y % 2 ? 255 : 0) : byte(rng);
      l_uint32 p = 0;
      composeRGBAPixel(byte(rng), byte(rng), byte(rng), a, &p);
      pixSetPixel(rgba, x, y, p);
    }
  ASSERT_EQ(pixWrite((dir / "rgba.png").c_str(), rgba, IFF_PNG), 0);
  PIX* blended = pixAlphaBlendUniform(rgba, 0xffffff00);
  PIX* grey = pixConvertTo8(blended, 0);
  const Image got = load_image(dir / "rgba.png");
  ASSERT_EQ(got.width(), w);
  ASSERT_EQ(got.height(), h);
  int worst = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      l_uint32 want = 0;
      pixGetPixel(grey, x, y, &want);
      worst = std::max(worst, std::abs(int(got.at(x, y)) - int(want)));
      if (x % 4 == 0) EXPECT_EQ(int(got.at(x, y)), int(want)) << x << "," << y;
    }
  EXPECT_LE(worst, 1);
  pixDestroy(&grey);
  pixDestroy(&blended);
  pixDestroy(&rgba);
}

TEST(ImageIo, BadFiles) {
  TempDir dir;
  expect_error([&] { load_image(dir / "missing.png"); }, "missing.png: cannot open");
  write_bytes(dir / "empty.png", "");
  expect_error([&] { load_image(dir / "empty.png"); }, "empty.png: file is empty");
  write_bytes(dir / "text.png", "this is not an image at all, just some text");
  expect_error([&] { load_image(dir / "text.png"); }, "text.png: not an image in a known format");
  save_png(dir / "good.png", test_card(400, 300));
  std::string png = read_bytes(dir / "good.png");
  write_bytes(dir / "cut.png", png.substr(0, png.size() / 2));
  expect_error([&] { load_image(dir / "cut.png"); }, "cut.png: cannot decode PNG");
  write_bytes(dir / "zero.pgm", "P5\n0 0\n255\n");
  EXPECT_THROW(load_image(dir / "zero.pgm"), Error);
  expect_error([] { Image(0, 0); }, "empty");
}

TEST(ImageIo, PixelLimitBoundsMemory) {
  TempDir dir;
  // A 30-byte file claiming 100000 x 100000 pixels (10 GB decoded) and a PNG
  // whose header claims the same: refused from the header, nothing allocated.
  write_bytes(dir / "huge.pgm", "P5\n100000 100000\n255\n" + std::string(8, '\0'));
  expect_error([&] { load_image(dir / "huge.pgm"); },
               "huge.pgm: image is 100000x100000 pixels, more than the limit");
  save_png(dir / "small.png", test_card(40, 30));
  std::string png = read_bytes(dir / "small.png");
  // IHDR width and height (big-endian) right after the 8-byte signature and
  // the chunk's length and type.
  for (int i = 0; i < 2; ++i) {
    const std::uint32_t v = 100000;
    for (int b = 0; b < 4; ++b)
      png[16 + 4 * i + b] = static_cast<char>((v >> (24 - 8 * b)) & 0xff);
  }
  // The chunk's CRC (over its type and data) made to match, as a crafted
  // file's would.
  const auto* ihdr = reinterpret_cast<const Bytef*>(png.data() + 12);
  const auto crc = static_cast<std::uint32_t>(crc32(0L, ihdr, 17));
  for (int b = 0; b < 4; ++b)
    png[29 + b] = static_cast<char>((crc >> (24 - 8 * b)) & 0xff);
  write_bytes(dir / "huge.png", png);
  expect_error([&] { load_image(dir / "huge.png"); }, "more than the limit");
  // A header damaged in transit (CRC wrong) is reported as corrupt.
  png[29] = static_cast<char>(png[29] ^ 0x5a);
  write_bytes(dir / "bad-crc.png", png);
  expect_error([&] { load_image(dir / "bad-crc.png"); }, "bad-crc.png: cannot decode PNG");
  // The limit is the caller's to set.
  EXPECT_EQ(load_image(dir / "small.png", 40 * 30).width(), 40);
  expect_error([&] { load_image(dir / "small.png", 40 * 30 - 1); },
               "40x30 pixels, more than the limit of 1199");
}

TEST(Normalize, DarkOnLightBecomesInkPositive) {
  Preprocessing pre;
  pre.height = 12;
  LineTensor l = normalize_line(test_card(), pre);
  EXPECT_EQ(l.height, 12);
  EXPECT_EQ(l.width, 30);  // 60 x 24 -> 30 x 12, aspect kept
  EXPECT_FLOAT_EQ(l.scale_x, 2.0f);
  EXPECT_FLOAT_EQ(l.at(0, 0), 0.0f);   // paper is exactly 0 (stretched from 230)
  EXPECT_FLOAT_EQ(l.at(15, 6), 1.0f);  // darkest ink is 1
}

TEST(Normalize, LightOnDarkIsInverted) {
  Image img = test_card();
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x)
      img.at(x, y) = static_cast<std::uint8_t>(255 - img.at(x, y));
  Preprocessing pre;
  pre.height = 12;
  LineTensor a = normalize_line(img, pre), b = normalize_line(test_card(), pre);
  EXPECT_LE(max_abs_diff(a.pixels, b.pixels), 1e-6f);
  // Forced to the wrong polarity, the light text is darker-than-paper "ink"
  // of negative contrast: it vanishes.
  pre.polarity = Preprocessing::Polarity::dark_on_light;
  auto wrong = normalize_line(img, pre);
  EXPECT_EQ(*std::max_element(wrong.pixels.begin(), wrong.pixels.end()), 0.0f);
}

TEST(Normalize, ResamplingKeepsUniformAreasAndMass) {
  Preprocessing pre;
  pre.height = 8;
  pre.stretch_contrast = false;
  Image img(100, 33, 255);
  for (int y = 0; y < 33; ++y)
    for (int x = 0; x < 40; ++x)
      img.at(x, y) = 0;  // left 40% black (paper stays the median)
  LineTensor l = normalize_line(img, pre);
  EXPECT_EQ(l.width, 24);  // round(100 * 8 / 33)
  EXPECT_NEAR(l.at(2, 4), 1.0f, 1e-5);
  EXPECT_NEAR(l.at(21, 4), 0.0f, 1e-5);
  double mass = 0;
  for (float v : l.pixels)
    mass += v;
  EXPECT_NEAR(mass / (8 * 24), 0.4, 0.02);  // area averaging keeps the ink share
  // Enlarging (height 8 -> 32) keeps values in range and edges ordered.
  pre.height = 32;
  Image small(10, 8, 255);
  small.at(5, 4) = 0;
  LineTensor big = normalize_line(small, pre);
  for (float v : big.pixels)
    EXPECT_TRUE(v >= 0 && v <= 1);
  EXPECT_GT(big.at(21, 17), 0.5f);
}

TEST(Normalize, TooWideAndEmpty) {
  Preprocessing pre;
  pre.height = 32;
  Image wide(100000, 32, 255);
  expect_error([&] { normalize_line(wide, pre); }, "100000 px wide");
  expect_error([&] { normalize_line(ImageView(), pre); }, "empty");
}
