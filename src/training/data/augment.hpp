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

// Dust on a scan: `count` round dark blobs of radius [0.6, max_radius]
// pixels at random places, drawn in `ink` (unlabelled: a speck is not a
// character, though one before a word looks like a quote's half).
void add_specks(Image& image, int count, double max_radius, int ink, std::mt19937_64& rng);

// Kanungo et al. (1993) document degradation model of a binary image (ink 0,
// paper 255): each pixel flips with probability alpha0 * exp(-alpha * d^2) +
// eta if ink, beta0 * exp(-beta * d^2) + eta if paper, where d is its distance
// to the nearest pixel of the other colour (1 on the boundary); then a
// morphological closing with a `closing` x `closing` square (0 or 1: none)
// joins the broken strokes as a scanner's optics do.
struct KanungoParams {
  double alpha0 = 1.0, alpha = 1.5, beta0 = 1.0, beta = 1.5, eta = 0.0;
  int closing = 2;
};
void kanungo(Image& image, const KanungoParams& params, std::mt19937_64& rng);

// A line as a binarising scanner gives it (UW-III's .bin.png): optical blur,
// a global threshold at a random level (thin or bold strokes), Kanungo edge
// noise; pure black on white.
Image scan_binarized(const Image& image, std::mt19937_64& rng);

}  // namespace ocrcore::data
