#include <algorithm>
#include <array>
#include <cmath>

#include "ocrcore/error.hpp"
#include "ocrcore/image.hpp"

namespace ocrcore {

namespace {

// Below this ink-to-background contrast the line is treated as blank: stretching
// it would turn scanner noise into ink.
constexpr int kMinStretchRange = 16;

struct Tap {
  int index;
  float weight;
};

// For each output sample, the input samples and weights that make it:
// area averaging when shrinking (exact overlap of pixel footprints), linear
// interpolation with edge replication when enlarging.
std::vector<std::vector<Tap>> resample_taps(int in, int out) {
  std::vector<std::vector<Tap>> taps(out);
  const double scale = double(out) / in;
  for (int o = 0; o < out; ++o) {
    auto& t = taps[o];
    if (scale < 1.0) {
      double lo = o / scale, hi = (o + 1) / scale;
      double total = 0;
      for (int i = static_cast<int>(std::floor(lo)); i < static_cast<int>(std::ceil(hi)); ++i) {
        double w = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
        if (w <= 0 || i >= in) continue;
        t.push_back({i, static_cast<float>(w)});
        total += w;
      }
      for (auto& tap : t)
        tap.weight = static_cast<float>(tap.weight / total);
    } else {
      double src = (o + 0.5) / scale - 0.5;
      int i0 = static_cast<int>(std::floor(src));
      float frac = static_cast<float>(src - i0);
      int a = std::clamp(i0, 0, in - 1), b = std::clamp(i0 + 1, 0, in - 1);
      t.push_back({a, 1.0f - frac});
      if (frac > 0) t.push_back({b, frac});
    }
  }
  return taps;
}

}  // namespace

LineTensor normalize_line(const ImageView& image, const Preprocessing& settings) {
  if (image.empty())
    throw Error("image is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                " pixels (empty)");
  const int H = settings.height;
  const long long scaled = std::llround(double(image.width) * H / image.height);
  const int W = static_cast<int>(std::max(1LL, std::min<long long>(scaled, 1LL << 30)));
  if (scaled > settings.max_width)
    throw Error("line is " + std::to_string(scaled) + " px wide once scaled to height " +
                std::to_string(H) + " (source " + std::to_string(image.width) + "x" +
                std::to_string(image.height) + "); the limit is " +
                std::to_string(settings.max_width) + " (a line image, not a page, is expected)");

  // Background level from the histogram: the median pixel of a text line is paper.
  std::array<std::size_t, 256> hist{};
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      ++hist[image.at(x, y)];
  const std::size_t total = static_cast<std::size_t>(image.width) * image.height;
  auto percentile = [&](double q) {
    std::size_t target = static_cast<std::size_t>(q * double(total - 1)), seen = 0;
    for (int v = 0; v < 256; ++v) {
      seen += hist[v];
      if (seen > target) return v;
    }
    return 255;
  };
  const int median = percentile(0.5);
  bool dark_on_light = settings.polarity == Preprocessing::Polarity::dark_on_light ||
                       (settings.polarity == Preprocessing::Polarity::automatic && median >= 128);

  // Map each grey level to [0, 1]: background 0, ink towards 1.
  std::array<float, 256> lut{};
  int background = dark_on_light ? 255 : 0, range = 255;
  if (settings.stretch_contrast) {
    background = median;
    int ink = dark_on_light ? percentile(0.01) : percentile(0.99);
    range = std::abs(background - ink);
    if (range < kMinStretchRange) range = 255;
  }
  for (int v = 0; v < 256; ++v) {
    float x = float(dark_on_light ? background - v : v - background) / float(range);
    lut[v] = std::clamp(x, 0.0f, 1.0f);
  }

  // Separable resampling: vertical into a H x w buffer, then horizontal.
  const auto vtaps = resample_taps(image.height, H);
  const auto htaps = resample_taps(image.width, W);
  std::vector<float> rows(static_cast<std::size_t>(H) * image.width, 0.0f);
  for (int oy = 0; oy < H; ++oy) {
    float* dst = rows.data() + static_cast<std::size_t>(oy) * image.width;
    for (const Tap& tap : vtaps[oy])
      for (int x = 0; x < image.width; ++x)
        dst[x] += tap.weight * lut[image.at(x, tap.index)];
  }
  LineTensor out;
  out.height = H;
  out.width = W;
  out.scale_x = float(image.width) / float(W);
  out.pixels.assign(static_cast<std::size_t>(H) * W, 0.0f);
  for (int oy = 0; oy < H; ++oy) {
    const float* src = rows.data() + static_cast<std::size_t>(oy) * image.width;
    float* dst = out.pixels.data() + static_cast<std::size_t>(oy) * W;
    for (int ox = 0; ox < W; ++ox) {
      float acc = 0;
      for (const Tap& tap : htaps[ox])
        acc += tap.weight * src[tap.index];
      dst[ox] = acc;
    }
  }
  return out;
}

}  // namespace ocrcore
