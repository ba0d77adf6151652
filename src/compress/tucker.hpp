#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ocrcore/architecture.hpp"
#include "ocrcore/tensor.hpp"

namespace ocrcore::compress {

// A convolution kernel K [S][C][kh][kw] factorised as Tucker-2
// (DESIGN.md 4): K ~ U_out x G x U_in over the two channel modes.
struct TuckerFactors {
  int rank_in = 0;            // R1; 0 = no input factor (Tucker-1, or SVD of a 1x1 kernel)
  int rank_out = 0;           // R2
  Tensor in;                  // [R1][C][1][1] = U_in^T (absent when rank_in == 0)
  Tensor core;                // [R2][R1 or C][kh][kw]
  Tensor out;                 // [S][R2][1][1] = U_out
  double relative_error = 0;  // ||K - reconstruction||_F / ||K||_F
};

// Singular values of the mode unfoldings of K, largest first: mode-C
// (C x S*kh*kw) and mode-S (S x C*kh*kw).
struct ModeSpectra {
  std::vector<double> in, out;
};
ModeSpectra mode_spectra(const Tensor& kernel);

// HOSVD initialisation plus `hooi_iterations` of higher-order orthogonal
// iteration. rank_in == 0 keeps the input mode (Tucker-1); a 1x1 kernel with
// rank_in == 0 is a truncated SVD.
TuckerFactors tucker2(const Tensor& kernel, int rank_in, int rank_out, int hooi_iterations = 0);

// The kernel the factors represent.
Tensor reconstruct(const TuckerFactors& f, int in_channels);

// Rank rules (each returns a rank between 1 and the mode size).
// Smallest rank keeping `fraction` of the spectrum's energy (sum of squares).
int rank_for_energy(const std::vector<double>& singular_values, double fraction);
// Empirical variational Bayesian matrix factorisation (Nakajima et al., 2013):
// the analytic EVBMF solution's rank for an L x M matrix with these singular
// values, noise variance estimated by minimising the free energy.
int rank_by_vbmf(const std::vector<double>& singular_values, int rows, int cols);

// Multiply-adds x 2 per output position and parameter counts of a kxk
// convolution and of its Tucker-2 form.
double conv_cost(int in, int out, int kh, int kw);
double tucker_cost(int in, int out, int kh, int kw, int rank_in, int rank_out);

}  // namespace ocrcore::compress
