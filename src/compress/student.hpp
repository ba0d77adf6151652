#pragma once

#include <vector>

#include "ocrcore/architecture.hpp"
#include "ocrcore/tensor.hpp"

namespace ocrcore::compress {

// Feature dimension D of the CNN's output sequence (channels x height at the
// collapse); throws Error when the network has no collapse.
int feature_dimension(const Architecture& architecture);
// Index of the collapse layer.
std::size_t collapse_index(const Architecture& architecture);

// A student CNN from the teacher's: every convolution's output channels
// scaled by `width_multiplier` (at least 1), or set from `channels` (one
// entry per convolution, in order). Batch norms follow their convolution. The
// last convolution keeps whatever makes the feature dimension the teacher's D;
// the recurrent part and output layer are the teacher's. Throws Error naming
// the problem when the channel list does not fit.
Architecture derive_student(const Architecture& teacher, double width_multiplier,
                            const std::vector<int>& channels = {});

// Checks that the student can take the teacher's DBLSTM and output layer: the
// same layers after the collapse and the same D. Throws Error saying what
// differs.
void check_student(const Architecture& student, const Architecture& teacher);

// The teacher's tensors of the layers after the collapse (DBLSTM, output).
TensorMap recurrent_tensors(const Architecture& teacher, const TensorMap& teacher_tensors);

// Name prefixes of those layers (for freezing).
std::vector<std::string> recurrent_prefixes(const Architecture& architecture);

}  // namespace ocrcore::compress
