// The fast PNG decoder (own chunk reader, libdeflate, in-place unfiltering)
// against the plain one (libpng's rows) on random images of every colour type
// the fast path takes, every row filter and odd chunk layouts; bad files; the
// grey conversion's shortcut.

#include <gtest/gtest.h>
#include <leptonica/allheaders.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ocrcore/error.hpp"
#include "runtime/image/grey_conversion.hpp"
#include "runtime/image/png_decode.hpp"

using namespace ocrcore;
using namespace ocrcore::detail;

namespace {

constexpr std::int64_t kNoLimit = std::int64_t{1} << 40;

void put_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int b = 3; b >= 0; --b)
    out.push_back(static_cast<std::uint8_t>(v >> (8 * b)));
}

void put_chunk(std::vector<std::uint8_t>& out, const char* type,
               const std::vector<std::uint8_t>& data, bool good_crc = true) {
  put_be32(out, static_cast<std::uint32_t>(data.size()));
  std::vector<std::uint8_t> typed(type, type + 4);
  typed.insert(typed.end(), data.begin(), data.end());
  out.insert(out.end(), typed.begin(), typed.end());
  auto crc = static_cast<std::uint32_t>(crc32(0L, typed.data(), static_cast<uInt>(typed.size())));
  put_be32(out, good_crc ? crc : crc ^ 0x1234u);
}

int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// Row `row` (raw samples) filtered by `filter` against `prior` (the raw row above).
std::vector<std::uint8_t> filter_row(int filter, const std::vector<std::uint8_t>& row,
                                     const std::vector<std::uint8_t>& prior, std::size_t bpp) {
  std::vector<std::uint8_t> out(row.size());
  for (std::size_t i = 0; i < row.size(); ++i) {
    const int a = i >= bpp ? row[i - bpp] : 0, b = prior[i], c = i >= bpp ? prior[i - bpp] : 0;
    const int pred = filter == 0   ? 0
                     : filter == 1 ? a
                     : filter == 2 ? b
                     : filter == 3 ? (a + b) / 2
                                   : paeth(a, b, c);
    out[i] = static_cast<std::uint8_t>(row[i] - pred);
  }
  return out;
}

struct PngSpec {
  int width = 17, height = 9, colour = 2;  // PNG colour type: 0 grey, 2 RGB, 6 RGBA
  int idat_parts = 1;                      // the compressed stream cut into this many IDATs
  bool text_before = false, text_after = false, damaged_ancillary = false, trns = false;
  int forced_filter = -1;        // -1: a random filter per row
  int depth = 8, interlace = 0;  // written in IHDR only (the data stay 8-bit, plain)
};

// A PNG of random pixels (mostly paper and ink, as line images are, with
// noise between) written by hand, so that every filter type is used.
std::vector<std::uint8_t> make_png(const PngSpec& s, std::mt19937& rng) {
  const std::size_t bpp = s.colour == 0 ? 1 : s.colour == 2 ? 3 : 4;
  const std::size_t row_bytes = bpp * static_cast<std::size_t>(s.width);
  std::uniform_int_distribution<int> byte(0, 255), pick(0, 9), filter(0, 4);
  std::vector<std::uint8_t> raw_stream, prior(row_bytes, 0);
  for (int y = 0; y < s.height; ++y) {
    std::vector<std::uint8_t> row(row_bytes);
    for (std::size_t i = 0; i < row_bytes; ++i) {
      const int k = pick(rng);
      row[i] = static_cast<std::uint8_t>(k < 4 ? 255 : k < 7 ? 0 : byte(rng));
    }
    const int f = s.forced_filter >= 0 ? s.forced_filter : filter(rng);
    raw_stream.push_back(static_cast<std::uint8_t>(f));
    const auto filtered = filter_row(f, row, prior, bpp);
    raw_stream.insert(raw_stream.end(), filtered.begin(), filtered.end());
    prior = row;
  }
  uLongf size = compressBound(static_cast<uLong>(raw_stream.size()));
  std::vector<std::uint8_t> z(size);
  EXPECT_EQ(compress2(z.data(), &size, raw_stream.data(), static_cast<uLong>(raw_stream.size()), 6),
            Z_OK);
  z.resize(size);

  std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<std::uint8_t> ihdr;
  put_be32(ihdr, static_cast<std::uint32_t>(s.width));
  put_be32(ihdr, static_cast<std::uint32_t>(s.height));
  ihdr.insert(ihdr.end(), {static_cast<std::uint8_t>(s.depth), static_cast<std::uint8_t>(s.colour),
                           0, 0, static_cast<std::uint8_t>(s.interlace)});
  put_chunk(png, "IHDR", ihdr);
  const std::vector<std::uint8_t> text = {'C', 'o', 'm', 'm', 'e', 'n', 't', 0, 'h', 'i'};
  if (s.text_before) put_chunk(png, "tEXt", text);
  if (s.damaged_ancillary) put_chunk(png, "tEXt", text, false);
  if (s.trns) put_chunk(png, "tRNS", std::vector<std::uint8_t>(s.colour == 0 ? 2 : 6, 0));
  const std::size_t part = (z.size() + s.idat_parts - 1) / s.idat_parts;
  for (std::size_t at = 0; at < z.size(); at += part)
    put_chunk(png, "IDAT",
              std::vector<std::uint8_t>(z.begin() + at, z.begin() + std::min(z.size(), at + part)));
  if (s.text_after) put_chunk(png, "tEXt", text);
  put_chunk(png, "IEND", {});
  return png;
}

void expect_same(const Image& a, const Image& b) {
  ASSERT_EQ(a.width(), b.width());
  ASSERT_EQ(a.height(), b.height());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.width()) * a.height()), 0);
}

std::string error_of(const std::vector<std::uint8_t>& png) {
  try {
    decode_png_8bit(png, "x.png", kNoLimit);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(PngDecode, MatchesLibpngOnRandomImages) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> size(1, 70), parts(1, 4), coin(0, 1);
  int compared = 0;
  for (int colour : {0, 2, 6}) {
    for (int forced = -1; forced <= 4; ++forced) {
      for (int trial = 0; trial < 6; ++trial) {
        PngSpec s;
        s.colour = colour;
        s.forced_filter = forced;
        s.width = size(rng);
        s.height = size(rng);
        s.idat_parts = parts(rng);
        s.text_before = coin(rng) != 0;
        s.text_after = coin(rng) != 0;
        s.damaged_ancillary = coin(rng) != 0;
        const auto png = make_png(s, rng);
        const auto fast = decode_png_8bit(png, "x.png", kNoLimit);
        const auto plain = decode_png_8bit_reference(png, "x.png", kNoLimit);
        ASSERT_TRUE(fast && plain) << "colour " << colour << " filter " << forced;
        expect_same(*fast, *plain);
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 3 * 6 * 6);
}

TEST(PngDecode, OtherKindsGoToTheGeneralReader) {
  std::mt19937 rng(1);
  PngSpec s;
  s.trns = true;
  EXPECT_FALSE(decode_png_8bit(make_png(s, rng), "x.png", kNoLimit));
  PngSpec deep;
  deep.depth = 16;
  EXPECT_FALSE(decode_png_8bit(make_png(deep, rng), "x.png", kNoLimit));
  PngSpec interlaced;
  interlaced.interlace = 1;
  EXPECT_FALSE(decode_png_8bit(make_png(interlaced, rng), "x.png", kNoLimit));
  PngSpec palette;
  palette.colour = 3;
  EXPECT_FALSE(decode_png_8bit(make_png(palette, rng), "x.png", kNoLimit));
  // The ones it takes it decodes.
  EXPECT_TRUE(decode_png_8bit(make_png(PngSpec{}, rng), "x.png", kNoLimit));
}

TEST(PngDecode, CorruptFilesAreErrorsNamingTheFile) {
  std::mt19937 rng(3);
  PngSpec s;
  s.width = 40;
  s.height = 20;
  s.idat_parts = 2;
  const auto good = make_png(s, rng);
  ASSERT_TRUE(decode_png_8bit(good, "x.png", kNoLimit));
  // Cut anywhere after the header: an error, never a crash or a partial image.
  for (std::size_t n = 33; n < good.size() - 12; n += 7) {
    const std::vector<std::uint8_t> cut(good.begin(),
                                        good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_NE(error_of(cut).find("x.png: cannot decode PNG data"), std::string::npos) << n;
  }
  // A flipped bit in the image data: the chunk's CRC catches it.
  auto flipped = good;
  flipped[60] ^= 0x10;
  EXPECT_NE(error_of(flipped).find("CRC error"), std::string::npos);
  // A bad filter type inside data whose checksums are right.
  PngSpec one;
  one.forced_filter = 0;
  one.colour = 0;
  one.width = one.height = 4;
  auto bad_filter = make_png(one, rng);
  std::vector<std::uint8_t> raw(4 * 5, 0);
  raw[5] = 9;  // row 1's filter byte
  uLongf size = compressBound(20);
  std::vector<std::uint8_t> z(size);
  ASSERT_EQ(compress2(z.data(), &size, raw.data(), 20, 6), Z_OK);
  z.resize(size);
  std::vector<std::uint8_t> png(bad_filter.begin(), bad_filter.begin() + 33);
  put_chunk(png, "IDAT", z);
  put_chunk(png, "IEND", {});
  EXPECT_NE(error_of(png).find("row 1: bad filter type 9"), std::string::npos) << error_of(png);
  // Too little image data for the header's size.
  raw.resize(10);
  size = compressBound(10);
  z.assign(size, 0);
  ASSERT_EQ(compress2(z.data(), &size, raw.data(), 10, 6), Z_OK);
  z.resize(size);
  png.assign(bad_filter.begin(), bad_filter.begin() + 33);
  put_chunk(png, "IDAT", z);
  put_chunk(png, "IEND", {});
  EXPECT_NE(error_of(png).find("image data ends early"), std::string::npos) << error_of(png);
  // No image data at all.
  png.assign(bad_filter.begin(), bad_filter.begin() + 33);
  put_chunk(png, "IEND", {});
  EXPECT_NE(error_of(png).find("no image data"), std::string::npos) << error_of(png);
  // Image data that is not a zlib stream (its chunk's CRC right).
  png.assign(bad_filter.begin(), bad_filter.begin() + 33);
  put_chunk(png, "IDAT", {0x78, 0x9c, 0xff, 0xff, 0xff, 0xff});
  put_chunk(png, "IEND", {});
  EXPECT_NE(error_of(png).find("invalid compressed image data"), std::string::npos)
      << error_of(png);
  // A critical chunk no decoder knows, before the data.
  png.assign(bad_filter.begin(), bad_filter.begin() + 33);
  put_chunk(png, "ABCD", {1, 2});
  png.insert(png.end(), bad_filter.begin() + 33, bad_filter.end());
  EXPECT_NE(error_of(png).find("ABCD: unknown critical chunk"), std::string::npos) << error_of(png);
  // The header not first.
  png.assign(bad_filter.begin(), bad_filter.begin() + 8);
  put_chunk(png, "tEXt", {'a', 0, 'b'});
  png.insert(png.end(), bad_filter.begin() + 8, bad_filter.end());
  EXPECT_NE(error_of(png).find("IHDR is not the first chunk"), std::string::npos) << error_of(png);
}

TEST(PngDecode, PixelLimitIsCheckedBeforeDecoding) {
  std::mt19937 rng(5);
  PngSpec s;
  s.width = 30;
  s.height = 10;
  const auto png = make_png(s, rng);
  EXPECT_TRUE(decode_png_8bit(png, "x.png", 300));
  try {
    decode_png_8bit(png, "x.png", 299);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("x.png: image is 30x10 pixels, more than the limit of 299"),
        std::string::npos)
        << e.what();
  }
}

TEST(GreyConversion, OpaqueGreyPixelsKeepTheirLevel) {
  // rgba_row_on_white's shortcut for opaque grey pixels (r = g = b, a = 255)
  // must give what leptonica's weights give, at every level; and colour and
  // translucent pixels still go through the weights.
  std::vector<std::uint8_t> rgba, want, got(256);
  for (int v = 0; v < 256; ++v) {
    rgba.insert(rgba.end(), {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v),
                             static_cast<std::uint8_t>(v), 255});
    const float lum = L_RED_WEIGHT * static_cast<float>(v) +
                      L_GREEN_WEIGHT * static_cast<float>(v) +
                      L_BLUE_WEIGHT * static_cast<float>(v);
    want.push_back(static_cast<std::uint8_t>(std::min(255.0f, lum + 0.5f)));
    EXPECT_EQ(want.back(), v);
  }
  rgba_row_on_white(rgba.data(), 256, got.data());
  EXPECT_EQ(got, want);
  // Blocks of four that mix opaque grey with other pixels, and a tail.
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> byte(0, 255), kind(0, 3);
  std::vector<std::uint8_t> mixed;
  for (int i = 0; i < 203; ++i) {
    const auto v = static_cast<std::uint8_t>(byte(rng));
    if (kind(rng) < 2)
      mixed.insert(mixed.end(), {v, v, v, 255});
    else
      mixed.insert(mixed.end(), {v, static_cast<std::uint8_t>(byte(rng)), v,
                                 static_cast<std::uint8_t>(byte(rng))});
  }
  std::vector<std::uint8_t> row(203);
  rgba_row_on_white(mixed.data(), 203, row.data());
  for (int i = 0; i < 203; ++i) {
    const std::uint8_t* q = mixed.data() + 4 * i;
    const float alpha = static_cast<float>(q[3]) / 255.0f;
    const float lum = L_RED_WEIGHT * static_cast<float>(q[0]) +
                      L_GREEN_WEIGHT * static_cast<float>(q[1]) +
                      L_BLUE_WEIGHT * static_cast<float>(q[2]);
    EXPECT_EQ(row[i], static_cast<std::uint8_t>(
                          std::min(255.0f, alpha * lum + (1.0f - alpha) * 255.0f + 0.5f)))
        << i;
  }
  const std::uint8_t others[] = {200, 100, 50, 255, 0, 0, 0, 0, 10, 10, 10, 128};
  rgba_row_on_white(others, 3, got.data());
  EXPECT_EQ(got[0], static_cast<std::uint8_t>(L_RED_WEIGHT * 200 + L_GREEN_WEIGHT * 100 +
                                              L_BLUE_WEIGHT * 50 + 0.5f));
  EXPECT_EQ(got[1], 255);  // transparent: white paper
  EXPECT_NEAR(got[2], (10 * 128 + 255 * 127) / 255.0, 1.0);
}
