#pragma once

#include <string>
#include <vector>

#include "training/train/activations.hpp"

namespace ocrcore::compress {

// Teacher-student criteria (DESIGN.md 3).
enum class TsLoss { lstm_guided, l2, kl, ctc };
TsLoss parse_ts_loss(const std::string& name);
std::string ts_loss_name(TsLoss loss);

// Feature matching through a D x D metric M: for each line,
//   (1/T) sum_t (x_t^T - x_t^S)' M (x_t^T - x_t^S),
// averaged over lines. With M = W'W, W the stacked input weights of all
// gates of both directions of the teacher's first BLSTM layer (8N x D), this
// is the LSTM-guided loss (1/T) sum_t ||W (x^T - x^S)||^2; with M = I plain
// L2 feature matching. `grad` (optional) receives d loss / d x^S.
// `lines`: how many lines the average is over (0: this batch's; a rank of a
// data-parallel job gives the global batch's, so that the ranks' sums of
// losses and gradients are the global batch's mean).
double feature_matching_loss(const train::Activations& student, const train::Activations& teacher,
                             const std::vector<float>& metric, train::Activations* grad,
                             int lines = 0);

// M = W'W for W given as row-major rows x D.
std::vector<float> gram_matrix(const std::vector<float>& w, int rows, int d);
std::vector<float> identity_matrix(int d);

// The teacher's frame sequence brought to a student's frame rate: frame t of
// line n is the mean of the teacher's frames [ratio t, ratio t + ratio) that
// the line has, for the student's `lengths[n]` frames, zero past them, in a
// sequence `frames` long. Throws Error when a line's teacher frames cannot
// cover its student frames.
train::Activations pool_frames(const train::Activations& teacher, int ratio,
                               const std::vector<int>& lengths, int frames);

// Frame-level KL(teacher || student) of posteriors at temperature tau,
// times tau^2, averaged over frames of each line and over lines; inputs are
// the logits (before log-softmax). `grad` receives d loss / d student logits;
// `lines` as for feature_matching_loss.
double kl_loss(const train::Activations& student_logits, const train::Activations& teacher_logits,
               float temperature, train::Activations* grad, int lines = 0);

}  // namespace ocrcore::compress
