// The plain decoder: libpng reading row by row (png_decode.cpp is the fast
// one, and the tests compare the two on random images of every filter).
#include <png.h>

#include <csetjmp>
#include <cstring>
#include <string>
#include <vector>

#include "ocrcore/error.hpp"
#include "runtime/image/grey_conversion.hpp"
#include "runtime/image/png_decode.hpp"

namespace ocrcore::detail {

namespace {

struct MemoryReader {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t pos;
};

void read_from_memory(png_structp png, png_bytep out, png_size_t n) {
  auto* r = static_cast<MemoryReader*>(png_get_io_ptr(png));
  if (n > r->size - r->pos) png_error(png, "file is truncated");
  std::memcpy(out, r->data + r->pos, n);
  r->pos += n;
}

// libpng reports errors by calling this and expects it not to return; the
// message is kept for the Error thrown once control is back in C++ frames.
[[noreturn]] void on_error(png_structp png, png_const_charp message) {
  *static_cast<std::string*>(png_get_error_ptr(png)) = message;
  std::longjmp(png_jmpbuf(png), 1);
}

void on_warning(png_structp, png_const_charp) {}

struct ReadStruct {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~ReadStruct() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

}  // namespace

std::optional<Image> decode_png_8bit_reference(std::span<const std::uint8_t> bytes,
                                               const std::string& where, std::int64_t max_pixels) {
  // libpng's errors longjmp back to the latest setjmp. Objects that a jump
  // would find modified since that setjmp are indeterminate, so the image
  // and row buffer are made between the header's setjmp and the rows' one.
  std::string message;
  MemoryReader reader{bytes.data(), bytes.size(), 0};
  ReadStruct rs;
  rs.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &message, on_error, on_warning);
  if (!rs.png) return std::nullopt;
  rs.info = png_create_info_struct(rs.png);
  if (!rs.info) return std::nullopt;
  auto corrupt = [&] {
    return Error(where + ": cannot decode PNG data (" + message + "; corrupt or truncated file)");
  };
  if (setjmp(png_jmpbuf(rs.png))) throw corrupt();
  png_set_read_fn(rs.png, &reader, read_from_memory);
#ifdef PNG_IGNORE_ADLER32
  // The chunks' CRCs are still checked; zlib's second checksum of the same
  // bytes was a tenth of decoding time.
  png_set_option(rs.png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
  png_read_info(rs.png, rs.info);
  png_uint_32 w = 0, h = 0;
  int depth = 0, colour = 0, interlace = 0;
  png_get_IHDR(rs.png, rs.info, &w, &h, &depth, &colour, &interlace, nullptr, nullptr);
  if (depth != 8 || interlace != PNG_INTERLACE_NONE ||
      (colour != PNG_COLOR_TYPE_GRAY && colour != PNG_COLOR_TYPE_RGB &&
       colour != PNG_COLOR_TYPE_RGBA) ||
      png_get_valid(rs.png, rs.info, PNG_INFO_tRNS))
    return std::nullopt;
  if (static_cast<std::int64_t>(w) * h > max_pixels)
    throw Error(where + ": image is " + std::to_string(w) + "x" + std::to_string(h) +
                " pixels, more than the limit of " + std::to_string(max_pixels));
  Image out(static_cast<int>(w), static_cast<int>(h));
  std::vector<std::uint8_t> row(png_get_rowbytes(rs.png, rs.info));
  if (setjmp(png_jmpbuf(rs.png))) throw corrupt();
  for (png_uint_32 y = 0; y < h; ++y) {
    std::uint8_t* dst = out.data() + static_cast<std::size_t>(y) * w;
    if (colour == PNG_COLOR_TYPE_GRAY) {
      png_read_row(rs.png, dst, nullptr);
      continue;
    }
    png_read_row(rs.png, row.data(), nullptr);
    if (colour == PNG_COLOR_TYPE_RGBA)
      rgba_row_on_white(row.data(), static_cast<int>(w), dst);
    else
      rgb_row(row.data(), static_cast<int>(w), dst);
  }
  // The rows are all there; what follows them (text chunks, the end marker)
  // is not needed.
  return out;
}

}  // namespace ocrcore::detail
