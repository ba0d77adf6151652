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

// What a student changes in the teacher's sequence half; 0 keeps the teacher's.
struct StudentShape {
  // Input columns per frame: a power-of-two multiple of the teacher's, made by
  // turning the CNN's first pools that keep the width (2x1) into 2x2 ones,
  // so that the DBLSTM runs over fewer frames.
  int width_stride = 0;
  int lstm_hidden = 0;  // units per direction of every DBLSTM layer
  int lstm_layers = 0;  // DBLSTM layers
  // Groups of each convolution, in order (empty: none grouped): a
  // convolution of G > 1 groups becomes a grouped_conv, G times fewer weights
  // and multiply-adds, the compression baseline Tucker is compared with.
  std::vector<int> conv_groups;

  bool keeps_teachers() const {
    return width_stride == 0 && lstm_hidden == 0 && lstm_layers == 0 && conv_groups.empty();
  }
};

// A student from the teacher: every convolution's output channels scaled by
// `width_multiplier` (at least 1), or set from `channels` (one entry per
// convolution, in order). Batch norms follow their convolution. The last
// convolution keeps whatever makes the feature dimension the teacher's D.
// The recurrent part and output layer are the teacher's unless `shape`
// changes them. Throws Error naming the problem when a choice does not fit.
Architecture derive_student(const Architecture& teacher, double width_multiplier,
                            const std::vector<int>& channels = {}, const StudentShape& shape = {});

// How a student relates to its teacher.
struct StudentFit {
  // Teacher frames per student frame (the ratio of their width strides): the
  // teacher's feature targets are averaged over this many frames.
  int frame_ratio = 1;
  // The layers after the collapse differ from the teacher's, or run at
  // another frame rate: the student's DBLSTM and output layer are its own
  // and must learn (they start from the teacher's tensors where those have
  // the same name and shape).
  bool own_sequence_half = false;
};

// Checks that the student can learn from the teacher: the same input height
// and feature dimension D, a width stride that is a whole multiple of the
// teacher's. Throws Error saying what differs.
StudentFit check_student(const Architecture& student, const Architecture& teacher);

// The teacher's tensors of the layers after the collapse (DBLSTM, output).
TensorMap recurrent_tensors(const Architecture& teacher, const TensorMap& teacher_tensors);

// The student's starting tensors for teacher-student learning: `initial` (its
// fresh initialisation) with the teacher's DBLSTM and output tensors in
// place wherever the student has a tensor of that name and shape.
TensorMap student_start(const TensorMap& initial, const Architecture& teacher,
                        const TensorMap& teacher_tensors);

// Name prefixes of those layers (for freezing).
std::vector<std::string> recurrent_prefixes(const Architecture& architecture);

}  // namespace ocrcore::compress
