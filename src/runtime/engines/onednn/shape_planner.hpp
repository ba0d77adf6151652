#pragma once

// The oneDNN engine's choice of the padded width each batch runs at; in its
// own header so that tests can drive it with chosen costs.

#include <algorithm>
#include <cstddef>
#include <map>
#include <utility>
#include <vector>

namespace ocrcore::detail {

// Shapes remembered per layer before the cache starts over (a server fed
// every possible width must not grow without bound).
constexpr std::size_t kMaxShapes = 64;

// Chooses the padded width a batch runs at. Creating a new shape's
// primitives (oneDNN generates code for each) took 6-18 ms for the compact
// model at batch 8, about as long as running a batch of 8 lines of 500 pixels, so a job
// of a few hundred lines of assorted widths spent a fifth of its time
// creating them. A batch whose own shape is not built yet may therefore
// borrow a built shape up to kBorrowLimit times wider (padding is masked, so results do not change
// beyond rounding): that wastes the arithmetic on the extra columns, and the
// waste is charged to the batch's own shape. Once the charges reach what
// building a shape costs (measured here), the shape is built. This is the
// rent-or-buy rule: a rare width never pays for its primitives, a frequent
// one gets them after at most twice the cost of building them at once.
class ShapePlanner {
 public:
  static constexpr double kBorrowLimit = 1.5;

  // The width to run a batch of `batch` lines whose own padded width is `width`.
  int choose(int batch, int width) {
    if (find(batch, width)) return width;
    const Shape* wider = nullptr;
    for (const Shape& s : built_)
      if (s.batch == batch && s.width > width && s.width <= kBorrowLimit * width &&
          (!wider || s.width < wider->width))
        wider = &s;
    if (!wider || column_seconds_ == 0) return width;  // nothing to borrow, or no cost yet
    double& charged = charges_[{batch, width}];
    charged += column_seconds_ * batch * (wider->width - width);
    if (charged < build_seconds_ / builds_) return wider->width;
    charges_.erase({batch, width});
    return width;
  }

  // After a batch ran at (batch, width): `run_seconds` of arithmetic and
  // `setup_seconds` creating primitives (zero when the shape was built).
  // False when the shape table was full and has been cleared: the caller then
  // drops its per-shape primitives too (this batch's shape included).
  bool ran(int batch, int width, double run_seconds, double setup_seconds) {
    // The cost of a padded column is the cheapest seen per line and column.
    // An engine's first run is left out: it also pays oneDNN's one-time
    // start-up (weights reordered, GEMM kernels generated), several runs' worth.
    if (runs_++ > 0) {
      const double c = run_seconds / (static_cast<double>(batch) * width);
      column_seconds_ = column_seconds_ == 0 ? c : std::min(column_seconds_, c);
    }
    if (find(batch, width)) return true;
    build_seconds_ += setup_seconds;
    ++builds_;
    if (built_.size() >= kMaxShapes) {
      // The caller drops every shape's primitives, this one's included.
      built_.clear();
      charges_.clear();
      return false;
    }
    built_.push_back({batch, width});
    return true;
  }

 private:
  struct Shape {
    int batch, width;
  };
  Shape* find(int batch, int width) {
    for (Shape& s : built_)
      if (s.batch == batch && s.width == width) return &s;
    return nullptr;
  }
  std::vector<Shape> built_;
  std::map<std::pair<int, int>, double> charges_;  // waste charged to unbuilt shapes
  double build_seconds_ = 0;
  int builds_ = 0;
  double column_seconds_ = 0;  // zero until measured
  long runs_ = 0;
};

}  // namespace ocrcore::detail
