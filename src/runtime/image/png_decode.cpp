#include "runtime/image/png_decode.hpp"

#include <emmintrin.h>
#include <libdeflate.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "ocrcore/error.hpp"
#include "runtime/image/grey_conversion.hpp"

namespace ocrcore::detail {

namespace {

constexpr std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

enum Colour : std::uint8_t { grey = 0, rgb = 2, rgba = 6 };

std::uint32_t big_endian_32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

struct Chunk {
  char type[5] = {};
  std::span<const std::uint8_t> data;
  bool crc_ok = false;
  bool critical() const { return (type[0] & 0x20) == 0; }
  bool is(const char* t) const { return std::memcmp(type, t, 4) == 0; }
};

class CorruptPng {
 public:
  explicit CorruptPng(const std::string& where) : where_(where) {}
  Error operator()(const std::string& what) const {
    return Error(where_ + ": cannot decode PNG data (" + what + "; corrupt or truncated file)");
  }

 private:
  const std::string& where_;
};

// Chunks in file order: length, type, data, CRC (of type and data).
class ChunkReader {
 public:
  ChunkReader(std::span<const std::uint8_t> bytes, const CorruptPng& corrupt)
      : bytes_(bytes), corrupt_(corrupt) {}
  bool at_end() const { return pos_ == bytes_.size(); }
  Chunk next() {
    if (bytes_.size() - pos_ < 12) throw corrupt_("file is truncated");
    const std::uint8_t* p = bytes_.data() + pos_;
    const std::uint32_t length = big_endian_32(p);
    if (length > 0x7fffffffu) throw corrupt_("chunk length too large");
    if (bytes_.size() - pos_ - 12 < length) throw corrupt_("file is truncated");
    Chunk c;
    std::memcpy(c.type, p + 4, 4);
    c.data = bytes_.subspan(pos_ + 8, length);
    const std::uint32_t stored = big_endian_32(p + 8 + length);
    c.crc_ok = libdeflate_crc32(0, p + 4, length + 4) == stored;
    pos_ += 12 + std::size_t{length};
    return c;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  const CorruptPng& corrupt_;
  std::size_t pos_ = sizeof kSignature;
};

struct DecompressorDeleter {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

// One per thread: the decompressor is a few kilobytes of tables, reset by each call.
libdeflate_decompressor& thread_decompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, DecompressorDeleter> d(
      libdeflate_alloc_decompressor());
  if (!d) throw std::bad_alloc();
  return *d;
}

int paeth(int a, int b, int c) {
  const int pa = std::abs(b - c), pb = std::abs(a - c), pc = std::abs(a + b - 2 * c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

// Undoes one row's filter in place, byte by byte (PNG spec, section 9);
// `prior` is the row above, already unfiltered (zeros above the first row).
bool unfilter_row_bytes(int filter, std::uint8_t* row, const std::uint8_t* prior, std::size_t n,
                        std::size_t bpp) {
  switch (filter) {
    case 0:
      return true;
    case 1:
      for (std::size_t i = bpp; i < n; ++i)
        row[i] = static_cast<std::uint8_t>(row[i] + row[i - bpp]);
      return true;
    case 2:
      for (std::size_t i = 0; i < n; ++i)
        row[i] = static_cast<std::uint8_t>(row[i] + prior[i]);
      return true;
    case 3:
      for (std::size_t i = 0; i < bpp; ++i)
        row[i] = static_cast<std::uint8_t>(row[i] + (prior[i] >> 1));
      for (std::size_t i = bpp; i < n; ++i)
        row[i] = static_cast<std::uint8_t>(row[i] + ((row[i - bpp] + prior[i]) >> 1));
      return true;
    case 4:
      for (std::size_t i = 0; i < bpp; ++i)
        row[i] = static_cast<std::uint8_t>(row[i] + prior[i]);
      for (std::size_t i = bpp; i < n; ++i)
        row[i] = static_cast<std::uint8_t>(row[i] + paeth(row[i - bpp], prior[i], prior[i - bpp]));
      return true;
    default:
      return false;
  }
}

// The same for RGB and RGBA rows, a pixel's channels at once in 16-bit lanes
// (SSE2, every x86-64 CPU has it): Sub, Average and Paeth depend on the pixel
// to the left, so a row cannot go faster than pixel by pixel, but byte by
// byte it went four times slower (the filters were most of this decoder's
// time on uw3's RGBA scans; perf).
template <std::size_t Bpp>
__m128i load_pixel(const std::uint8_t* p) {
  std::uint32_t v = 0;
  std::memcpy(&v, p, Bpp);
  return _mm_unpacklo_epi8(_mm_cvtsi32_si128(static_cast<int>(v)), _mm_setzero_si128());
}

template <std::size_t Bpp>
void store_pixel(std::uint8_t* p, __m128i v) {
  const auto packed = static_cast<std::uint32_t>(
      _mm_cvtsi128_si32(_mm_packus_epi16(_mm_and_si128(v, _mm_set1_epi16(0xff)), v)));
  std::memcpy(p, &packed, Bpp);
}

__m128i abs16(__m128i v) {
  return _mm_max_epi16(v, _mm_sub_epi16(_mm_setzero_si128(), v));
}

template <std::size_t Bpp>
bool unfilter_row_pixels(int filter, std::uint8_t* row, const std::uint8_t* prior, std::size_t n) {
  if (filter != 1 && filter != 3 && filter != 4)
    return unfilter_row_bytes(filter, row, prior, n, Bpp);
  __m128i a = _mm_setzero_si128(), c = _mm_setzero_si128();
  for (std::size_t i = 0; i < n; i += Bpp) {
    const __m128i x = load_pixel<Bpp>(row + i);
    __m128i predicted;
    if (filter == 1) {
      predicted = a;
    } else if (filter == 3) {
      predicted = _mm_srli_epi16(_mm_add_epi16(a, load_pixel<Bpp>(prior + i)), 1);
    } else {
      const __m128i b = load_pixel<Bpp>(prior + i);
      const __m128i b_c = _mm_sub_epi16(b, c), a_c = _mm_sub_epi16(a, c);
      const __m128i pa = abs16(b_c), pb = abs16(a_c), pc = abs16(_mm_add_epi16(b_c, a_c));
      // a where pa <= pb and pa <= pc; else b where pb <= pc; else c.
      const __m128i take_a =
          _mm_andnot_si128(_mm_cmpgt_epi16(pa, pc), _mm_cmpeq_epi16(_mm_min_epi16(pa, pb), pa));
      const __m128i take_b = _mm_andnot_si128(_mm_cmpgt_epi16(pb, pc), _mm_set1_epi16(-1));
      const __m128i b_or_c = _mm_or_si128(_mm_and_si128(take_b, b), _mm_andnot_si128(take_b, c));
      predicted = _mm_or_si128(_mm_and_si128(take_a, a), _mm_andnot_si128(take_a, b_or_c));
      c = b;
    }
    a = _mm_and_si128(_mm_add_epi16(x, predicted), _mm_set1_epi16(0xff));
    store_pixel<Bpp>(row + i, a);
  }
  return true;
}

bool unfilter_row(int filter, std::uint8_t* row, const std::uint8_t* prior, std::size_t n,
                  std::size_t bpp) {
  if (bpp == 4) return unfilter_row_pixels<4>(filter, row, prior, n);
  if (bpp == 3) return unfilter_row_pixels<3>(filter, row, prior, n);
  return unfilter_row_bytes(filter, row, prior, n, bpp);
}

}  // namespace

std::optional<Image> decode_png_8bit(std::span<const std::uint8_t> bytes, const std::string& where,
                                     std::int64_t max_pixels) {
  const CorruptPng corrupt(where);
  if (bytes.size() < sizeof kSignature || std::memcmp(bytes.data(), kSignature, 8) != 0)
    throw corrupt("no PNG signature");
  ChunkReader chunks(bytes, corrupt);
  const Chunk header = chunks.next();
  if (!header.is("IHDR") || header.data.size() != 13) throw corrupt("IHDR is not the first chunk");
  if (!header.crc_ok) throw corrupt("IHDR: CRC error");
  const std::uint8_t* h8 = header.data.data();
  const std::uint32_t w = big_endian_32(h8), h = big_endian_32(h8 + 4);
  const int depth = h8[8], colour = h8[9], compression = h8[10], filtering = h8[11],
            interlace = h8[12];
  if (w == 0 || h == 0 || w > 0x7fffffffu || h > 0x7fffffffu)
    throw corrupt("invalid image size " + std::to_string(w) + "x" + std::to_string(h));
  if (compression != 0 || filtering != 0) throw corrupt("unknown compression or filter method");
  if (depth != 8 || interlace != 0 || (colour != grey && colour != rgb && colour != rgba))
    return std::nullopt;
  if (static_cast<std::int64_t>(w) * h > max_pixels)
    throw Error(where + ": image is " + std::to_string(w) + "x" + std::to_string(h) +
                " pixels, more than the limit of " + std::to_string(max_pixels));

  // The image data: the IDAT chunks, consecutive. What follows them (text
  // chunks, the end marker) is not needed.
  std::vector<std::span<const std::uint8_t>> parts;
  while (true) {
    if (chunks.at_end()) {
      if (parts.empty()) throw corrupt("no image data");
      break;
    }
    const Chunk c = chunks.next();
    if (c.is("IDAT")) {
      if (!c.crc_ok) throw corrupt("IDAT: CRC error");
      parts.push_back(c.data);
      continue;
    }
    if (!parts.empty()) break;
    if (c.is("IEND")) throw corrupt("no image data");
    // As libpng: a damaged critical chunk is an error, a damaged ancillary
    // one is skipped.
    if (!c.crc_ok) {
      if (c.critical()) throw corrupt(std::string(c.type) + ": CRC error");
      continue;
    }
    // Transparency for grey or RGB: leptonica's reader applies it.
    if (c.is("tRNS")) return std::nullopt;
    if (c.critical() && !c.is("PLTE"))
      throw corrupt(std::string(c.type) + ": unknown critical chunk");
  }
  std::vector<std::uint8_t> joined;
  std::span<const std::uint8_t> compressed = parts.front();
  if (parts.size() > 1) {
    for (const auto& p : parts)
      joined.insert(joined.end(), p.begin(), p.end());
    compressed = joined;
  }

  const std::size_t bpp = colour == grey ? 1 : colour == rgb ? 3 : 4;
  const std::size_t row_bytes = bpp * w, stride = row_bytes + 1;
  const std::size_t expected = stride * h;
  // One byte more than the image needs tells a stream with data to spare
  // from an exact one; such rare files go to leptonica's reader, as libpng
  // tolerates them.
  auto filtered = std::make_unique_for_overwrite<std::uint8_t[]>(expected + 1);
  std::size_t got = 0;
  const libdeflate_result r =
      libdeflate_zlib_decompress(&thread_decompressor(), compressed.data(), compressed.size(),
                                 filtered.get(), expected + 1, &got);
  if (r == LIBDEFLATE_INSUFFICIENT_SPACE || (r == LIBDEFLATE_SUCCESS && got > expected))
    return std::nullopt;
  if (r != LIBDEFLATE_SUCCESS) throw corrupt("invalid compressed image data");
  if (got < expected) throw corrupt("image data ends early");

  Image out(static_cast<int>(w), static_cast<int>(h));
  const std::vector<std::uint8_t> zeros(row_bytes, 0);
  for (std::size_t y = 0; y < h; ++y) {
    std::uint8_t* line = filtered.get() + y * stride;
    std::uint8_t* row = line + 1;
    const std::uint8_t* prior = y == 0 ? zeros.data() : row - stride;
    if (!unfilter_row(line[0], row, prior, row_bytes, bpp))
      throw corrupt("row " + std::to_string(y) + ": bad filter type " + std::to_string(line[0]));
    std::uint8_t* dst = out.data() + y * w;
    if (colour == grey)
      std::memcpy(dst, row, w);
    else if (colour == rgba)
      rgba_row_on_white(row, static_cast<int>(w), dst);
    else
      rgb_row(row, static_cast<int>(w), dst);
  }
  return out;
}

}  // namespace ocrcore::detail
