#pragma once

#include <cstdint>
#include <random>

#include "ocrcore/image.hpp"

namespace ocrcore::data {

// Degradations of a grey line image (dark ink on light paper), each applied
// with its probability and a random strength. They act on the image before
// normalisation, so training sees exactly what the runtime's preprocessing
// makes of a degraded scan.
struct AugmentSettings {
  double geometry = 0.5;  // small rotation (<= max_rotation_deg) and shear
  double max_rotation_deg = 1.0;
  double max_shear = 0.25;
  double elastic = 0.25;    // smooth random displacement, ~1 px
  double morphology = 0.3;  // ink erosion or dilation (3x3)
  double blur = 0.35;       // Gaussian, sigma 0.4 .. 1.2
  double contrast = 0.5;    // ink/paper levels and a background gradient
  double noise = 0.4;       // Gaussian pixel noise
  double binarize = 0.25;   // threshold to pure black and white, as binarised scans are
  double scale = 0.3;       // down- and up-sampling (resolution loss)
};

// Applies a random selection of degradations, drawing from `rng`.
Image augment(const Image& image, const AugmentSettings& settings, std::mt19937_64& rng);

// Individual degradations (exposed for tests and the renderer).
Image affine_warp(const Image& image, double rotation_deg, double shear);
Image elastic_warp(const Image& image, double amplitude, double cell, std::mt19937_64& rng);
Image morphology(const Image& image, bool thicken);
Image gaussian_blur(const Image& image, double sigma);
Image resample(const Image& image, double factor);
void adjust_levels(Image& image, int ink, int paper, double gradient, std::mt19937_64& rng);
void add_noise(Image& image, double sigma, std::mt19937_64& rng);
void binarize(Image& image, int threshold);
// Otsu threshold of the histogram.
int otsu_threshold(const Image& image);

}  // namespace ocrcore::data
