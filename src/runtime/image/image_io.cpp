#include <emmintrin.h>
#include <leptonica/allheaders.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <vector>

#include "ocrcore/error.hpp"
#include "ocrcore/image.hpp"
#include "runtime/core/file_io.hpp"
#include "runtime/image/grey_conversion.hpp"
#include "runtime/image/image_header.hpp"
#include "runtime/image/png_decode.hpp"

namespace ocrcore {

namespace {

// Leptonica prints its own diagnostics to stderr; ours name the file instead.
void quiet_leptonica() {
  static std::once_flag once;
  std::call_once(once, [] { setMsgSeverity(L_SEVERITY_NONE); });
}

struct PixDeleter {
  void operator()(PIX* p) const { pixDestroy(&p); }
};
using PixPtr = std::unique_ptr<PIX, PixDeleter>;

std::string format_name(l_int32 format) {
  switch (format) {
    case IFF_PNG:
      return "PNG";
    case IFF_JFIF_JPEG:
      return "JPEG";
    case IFF_BMP:
      return "BMP";
    case IFF_PNM:
      return "PNM";
    case IFF_WEBP:
      return "WebP";
    case IFF_GIF:
      return "GIF";
    case IFF_JP2:
      return "JPEG 2000";
    case IFF_UNKNOWN:
      return "unknown";
    default:
      if (L_FORMAT_IS_TIFF(format)) return "TIFF";
      return "unsupported";
  }
}

// Luminance by leptonica's weights, alpha composited on white.
inline std::uint8_t grey_on_white(unsigned r, unsigned g, unsigned b, unsigned a) {
  const float lum = L_RED_WEIGHT * static_cast<float>(r) + L_GREEN_WEIGHT * static_cast<float>(g) +
                    L_BLUE_WEIGHT * static_cast<float>(b);
  const float alpha = static_cast<float>(a) / 255.0f;
  const float grey = alpha * lum + (1.0f - alpha) * 255.0f;
  return static_cast<std::uint8_t>(std::min(255.0f, grey + 0.5f));
}

// RGBA composited on white and reduced to luminance in one pass: the same
// values, within one grey level, as leptonica's pixAlphaBlendUniform followed
// by pixConvertTo8 (the test compares them), at a fraction of the cost --
// those two calls were a sixth of ocr-infer's time on the RGBA scans of uw3
// (perf). PNGs come through png_decode.cpp; this serves the other formats.
Image rgba_to_grey_on_white(PIX* pix) {
  const int w = static_cast<int>(pixGetWidth(pix)), h = static_cast<int>(pixGetHeight(pix));
  const l_uint32* data = pixGetData(pix);
  const l_int32 wpl = pixGetWpl(pix);
  Image out(w, h);
  for (int y = 0; y < h; ++y) {
    const l_uint32* line = data + static_cast<std::ptrdiff_t>(y) * wpl;
    // A local row pointer: stores through Image::at (uint8, which may alias
    // anything) made the compiler reload the image's data pointer per pixel.
    std::uint8_t* row = out.data() + static_cast<std::size_t>(y) * w;
    for (int x = 0; x < w; ++x) {
      const l_uint32 p = line[x];
      row[x] = grey_on_white((p >> L_RED_SHIFT) & 0xff, (p >> L_GREEN_SHIFT) & 0xff,
                             (p >> L_BLUE_SHIFT) & 0xff, (p >> L_ALPHA_SHIFT) & 0xff);
    }
  }
  return out;
}

}  // namespace

namespace detail {

void rgba_row_on_white(const std::uint8_t* rgba, int w, std::uint8_t* out) {
  // Opaque grey, all of a binarised scan, is its own grey value (the weights
  // sum to 1; the test checks every level): no float arithmetic. Four pixels
  // at a time are checked and packed with SSE2 (little-endian: R is a
  // pixel's low byte).
  int x = 0;
  const __m128i low = _mm_set1_epi32(0xff), opaque = _mm_set1_epi32(static_cast<int>(0xff000000u));
  for (; x + 4 <= w; x += 4) {
    const __m128i p = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rgba + 4 * x));
    const __m128i r = _mm_and_si128(p, low);
    const __m128i grey = _mm_or_si128(_mm_or_si128(r, _mm_slli_epi32(r, 8)),
                                      _mm_or_si128(_mm_slli_epi32(r, 16), opaque));
    if (_mm_movemask_epi8(_mm_cmpeq_epi32(p, grey)) == 0xffff) {
      const __m128i r16 = _mm_packs_epi32(r, r);  // values <= 255: no saturation
      const auto four = static_cast<std::uint32_t>(_mm_cvtsi128_si32(_mm_packus_epi16(r16, r16)));
      std::memcpy(out + x, &four, 4);
      continue;
    }
    for (int k = x; k < x + 4; ++k) {
      const std::uint8_t* q = rgba + 4 * k;
      out[k] = grey_on_white(q[0], q[1], q[2], q[3]);
    }
  }
  for (; x < w; ++x) {
    const std::uint8_t* q = rgba + 4 * x;
    std::uint32_t p;
    std::memcpy(&p, q, 4);
    out[x] = p == ((std::uint32_t{q[0]} * 0x010101u) | 0xff000000u)
                 ? q[0]
                 : grey_on_white(q[0], q[1], q[2], q[3]);
  }
}

void rgb_row(const std::uint8_t* rgb, int w, std::uint8_t* out) {
  for (int x = 0; x < w; ++x, rgb += 3)
    out[x] = grey_on_white(rgb[0], rgb[1], rgb[2], 255);
}

}  // namespace detail

Image::Image(int width, int height, std::uint8_t fill) : width_(width), height_(height) {
  if (width <= 0 || height <= 0)
    throw Error("image size " + std::to_string(width) + "x" + std::to_string(height) + " is empty");
  pixels_.assign(static_cast<std::size_t>(width) * height, fill);
}

namespace {

// Leptonica numbers TIFF's compressions apart (PNM, PS, GIF... sit between
// IFF_TIFF_ZIP and IFF_TIFF_JPEG).
bool is_tiff(l_int32 format) {
  return L_FORMAT_IS_TIFF(format);
}

l_int32 file_format(std::span<const std::uint8_t> bytes, const std::string& where) {
  if (bytes.empty()) throw Error(where + ": file is empty");
  l_int32 format = IFF_UNKNOWN;
  findFileFormatBuffer(bytes.data(), &format);
  if (format == IFF_UNKNOWN)
    throw Error(where + ": not an image in a known format (PNG, JPEG, TIFF, PNM, BMP, WebP)");
  return format;
}

int tiff_pages(std::span<const std::uint8_t> bytes, const std::string& where) {
  FILE* f = ::fmemopen(const_cast<std::uint8_t*>(bytes.data()), bytes.size(), "rb");
  if (!f) throw Error(where + ": cannot read the TIFF's pages");
  l_int32 n = 0;
  const bool ok = tiffGetCount(f, &n) == 0;
  std::fclose(f);
  if (!ok || n < 1) throw Error(where + ": cannot decode TIFF data (corrupt or truncated file)");
  return n;
}

// Page `page` of the image (0-based; -1: the image, which must have one page).
Image decode_page(std::span<const std::uint8_t> bytes, const std::string& where, int page,
                  std::int64_t max_pixels) {
  quiet_leptonica();
  const l_int32 format = file_format(bytes, where);
  const int pages = is_tiff(format) ? tiff_pages(bytes, where) : 1;
  if (page < 0 && pages > 1)
    throw Error(where + ": a TIFF of " + std::to_string(pages) +
                " pages; each page is a line image of its own (load_image_page; ocr-infer "
                "reads them as " +
                where + "#page=1 ..)");
  if (page >= pages)
    throw Error(where + ": has no page " + std::to_string(page + 1) + " (" + std::to_string(pages) +
                (pages == 1 ? " page)" : " pages)"));
  page = std::max(page, 0);
  if (format == IFF_PNG)
    if (auto image = detail::decode_png_8bit(bytes, where, max_pixels)) return std::move(*image);
  // The header's size first: a small file may claim a huge image.
  l_int32 hw = 0, hh = 0, bps = 0, spp = 0, cmap = 0, hformat = 0, res = 0;
  const bool header = is_tiff(format)
                          ? readHeaderMemTiff(bytes.data(), bytes.size(), page, &hw, &hh, &bps,
                                              &spp, &res, &cmap, &hformat) == 0
                          : pixReadHeaderMem(bytes.data(), bytes.size(), &hformat, &hw, &hh, &bps,
                                             &spp, &cmap) == 0;
  if (header && static_cast<std::int64_t>(hw) * hh > max_pixels)
    throw Error(where + ": image is " + std::to_string(hw) + "x" + std::to_string(hh) +
                " pixels, more than the limit of " + std::to_string(max_pixels));
  PixPtr pix(is_tiff(format) ? pixReadMemTiff(bytes.data(), bytes.size(), page)
                             : pixReadMem(bytes.data(), bytes.size()));
  if (!pix)
    throw Error(where + ": cannot decode " + format_name(format) +
                " data (corrupt or truncated file)");
  l_int32 w = 0, h = 0, d = 0;
  pixGetDimensions(pix.get(), &w, &h, &d);
  if (w <= 0 || h <= 0)
    throw Error(where + ": image is " + std::to_string(w) + "x" + std::to_string(h) +
                " pixels (empty)");
  if (static_cast<std::int64_t>(w) * h > max_pixels)
    throw Error(where + ": image is " + std::to_string(w) + "x" + std::to_string(h) +
                " pixels, more than the limit of " + std::to_string(max_pixels));
  // Transparent areas become white paper, not black ink.
  if (d == 32 && pixGetSpp(pix.get()) == 4) return rgba_to_grey_on_white(pix.get());
  // Handles 1/2/4/8/16/32 bpp and colour maps; RGB goes to luminance.
  PixPtr grey(pixConvertTo8(pix.get(), 0));
  if (!grey || pixGetDepth(grey.get()) != 8)
    throw Error(where + ": cannot convert " + std::to_string(d) + "-bit " + format_name(format) +
                " image to 8-bit grey");
  Image out(w, h);
  const l_uint32* data = pixGetData(grey.get());
  const l_int32 wpl = pixGetWpl(grey.get());
  for (int y = 0; y < h; ++y) {
    const l_uint32* line = data + static_cast<std::ptrdiff_t>(y) * wpl;
    std::uint8_t* row = out.data() + static_cast<std::size_t>(y) * w;  // as above
    for (int x = 0; x < w; ++x)
      row[x] = static_cast<std::uint8_t>(GET_DATA_BYTE(line, x));
  }
  return out;
}

}  // namespace

std::optional<detail::ImageSize> detail::read_image_size(const std::filesystem::path& path) {
  quiet_leptonica();
  l_int32 format = 0, w = 0, h = 0, bps = 0, spp = 0, cmap = 0;
  if (pixReadHeader(path.c_str(), &format, &w, &h, &bps, &spp, &cmap) != 0 || w <= 0 || h <= 0)
    return std::nullopt;
  return detail::ImageSize{w, h};
}

Image decode_image(std::span<const std::uint8_t> bytes, std::string_view name,
                   std::int64_t max_pixels) {
  return decode_page(bytes, std::string(name), -1, max_pixels);
}

namespace {

// The whole file, bounded: a path naming a device or a FIFO that never ends
// (/dev/zero) must not fill the memory.
std::vector<std::uint8_t> read_image_file(const std::filesystem::path& path) {
  constexpr std::size_t kMaxBytes = std::size_t{1} << 28;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open: " + std::strerror(errno), ErrorKind::io);
  std::vector<std::uint8_t> bytes;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk).gcount() > 0) {
    bytes.insert(bytes.end(), chunk, chunk + in.gcount());
    if (bytes.size() > kMaxBytes)
      throw Error(path.string() + ": larger than " + std::to_string(kMaxBytes >> 20) +
                  " MB (not a line image?)");
  }
  if (in.bad()) throw Error(path.string() + ": read failed", ErrorKind::io);
  return bytes;
}

}  // namespace

Image load_image(const std::filesystem::path& path, std::int64_t max_pixels) {
  return decode_page(read_image_file(path), path.string(), -1, max_pixels);
}

Image load_image_page(const std::filesystem::path& path, int page, std::int64_t max_pixels) {
  if (page < 0) throw Error(path.string() + ": page " + std::to_string(page) + " is not a page");
  return decode_page(read_image_file(path), path.string(), page, max_pixels);
}

int count_image_pages(const std::filesystem::path& path) {
  quiet_leptonica();
  const auto bytes = read_image_file(path);
  const l_int32 format = file_format(bytes, path.string());
  return is_tiff(format) ? tiff_pages(bytes, path.string()) : 1;
}

void save_png(const std::filesystem::path& path, const ImageView& image) {
  quiet_leptonica();
  if (image.empty()) throw Error(path.string() + ": cannot save an empty image");
  PixPtr pix(pixCreate(image.width, image.height, 8));
  if (!pix) throw Error(path.string() + ": cannot allocate the image to save", ErrorKind::io);
  l_uint32* data = pixGetData(pix.get());
  const l_int32 wpl = pixGetWpl(pix.get());
  for (int y = 0; y < image.height; ++y) {
    l_uint32* line = data + static_cast<std::ptrdiff_t>(y) * wpl;
    for (int x = 0; x < image.width; ++x)
      SET_DATA_BYTE(line, x, image.at(x, y));
  }
  l_uint8* encoded = nullptr;
  size_t size = 0;
  if (pixWriteMem(&encoded, &size, pix.get(), IFF_PNG) != 0 || !encoded)
    throw Error(path.string() + ": PNG encoding failed", ErrorKind::io);
  std::unique_ptr<l_uint8, void (*)(void*)> owned(encoded, lept_free);
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(owned.get()), static_cast<std::streamsize>(size));
  });
}

}  // namespace ocrcore
