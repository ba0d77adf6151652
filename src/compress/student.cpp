#include "compress/student.hpp"

#include <algorithm>
#include <cmath>

#include "layers/batch_norm/batch_norm.hpp"
#include "layers/collapse/collapse.hpp"
#include "layers/conv2d/conv2d.hpp"
#include "layers/grouped_conv/grouped_conv.hpp"
#include "layers/layer_kind.hpp"
#include "layers/linear/linear.hpp"
#include "layers/lstm/lstm.hpp"
#include "layers/max_pool/max_pool.hpp"
#include "layers/tucker_conv/tucker_conv.hpp"
#include "ocrcore/error.hpp"

namespace ocrcore::compress {

std::size_t collapse_index(const Architecture& a) {
  for (std::size_t i = 0; i < a.layers.size(); ++i)
    if (a.layers[i].is<CollapseSpec>()) return i;
  throw Error("the network has no collapse layer (no CNN feature sequence)");
}

int feature_dimension(const Architecture& a) {
  // The shape rules of each kind, up to the collapse: D = channels x height.
  const std::size_t ci = collapse_index(a);
  detail::LayerShape shape;
  shape.channels = a.input_channels;
  shape.height = a.input_height;
  for (std::size_t i = 0; i <= ci; ++i) {
    detail::ShapeCheck check(shape, std::string(a.layers[i].type()));
    a.layers[i].impl().check(check);
  }
  return shape.features;
}

namespace {

void apply_shape(Architecture& s, const Architecture& teacher, const StudentShape& shape) {
  const std::size_t ci = collapse_index(s);
  if (shape.width_stride > 0) {
    const int base = teacher.width_stride();
    if (shape.width_stride % base != 0 ||
        ((shape.width_stride / base) & (shape.width_stride / base - 1)) != 0)
      throw Error("--student-width-stride " + std::to_string(shape.width_stride) +
                  ": must be the teacher's width stride (" + std::to_string(base) +
                  ") times a power of two");
    // The earliest pools that keep the width halve it too: the convolutions
    // after them then run on fewer columns as well.
    for (std::size_t i = 0; i < ci && s.width_stride() < shape.width_stride; ++i) {
      auto* pool = s.layers[i].as<MaxPoolSpec>();
      if (!pool || pool->stride_w != 1 || pool->kernel_w != 1 || pool->pad_w != 0) continue;
      pool->kernel_w = pool->stride_w = 2;
    }
    if (s.width_stride() != shape.width_stride)
      throw Error("--student-width-stride " + std::to_string(shape.width_stride) +
                  ": the teacher's CNN has too few pools that keep the width (it reaches " +
                  std::to_string(s.width_stride()) + ")");
  }
  if (shape.lstm_hidden < 0 || shape.lstm_layers < 0)
    throw Error("the student's DBLSTM sizes must be positive");
  if (shape.lstm_hidden == 0 && shape.lstm_layers == 0) return;
  int features = 0;
  bool seen = false;
  for (std::size_t i = ci + 1; i < s.layers.size(); ++i) {
    if (auto* l = s.layers[i].as<LstmSpec>()) {
      if (seen) throw Error("--student-lstm-*: the teacher has more than one LSTM layer group");
      seen = true;
      if (shape.lstm_hidden > 0) l->hidden_size = shape.lstm_hidden;
      if (shape.lstm_layers > 0) l->num_layers = shape.lstm_layers;
      features = l->hidden_size * l->directions();
    } else if (auto* f = s.layers[i].as<LinearSpec>(); f && seen && features > 0) {
      f->in_features = features;
      features = 0;
    }
  }
  if (!seen) throw Error("--student-lstm-*: the teacher has no LSTM after its CNN");
}

}  // namespace

Architecture derive_student(const Architecture& teacher, double m, const std::vector<int>& channels,
                            const StudentShape& shape) {
  teacher.validate();
  const std::size_t ci = collapse_index(teacher);
  std::vector<std::size_t> convs;
  for (std::size_t i = 0; i < ci; ++i) {
    if (teacher.layers[i].is<TuckerConvSpec>())
      throw Error("derive a student from a teacher with plain convolutions");
    if (teacher.layers[i].is<Conv2dSpec>()) convs.push_back(i);
  }
  if (convs.empty()) throw Error("the teacher has no convolution");
  if (!channels.empty() && channels.size() != convs.size())
    throw Error("--student-channels lists " + std::to_string(channels.size()) +
                " values for the teacher's " + std::to_string(convs.size()) + " convolutions");
  if (channels.empty() && (m <= 0 || m > 1)) throw Error("the width multiplier must be in (0, 1]");
  Architecture s = teacher;
  int prev = teacher.input_channels;
  for (std::size_t k = 0; k < convs.size(); ++k) {
    auto& c = s.layers[convs[k]].get<Conv2dSpec>();
    const bool last = k + 1 == convs.size();
    int out = channels.empty() ? std::max(1, static_cast<int>(std::lround(c.out_channels * m)))
                               : channels[k];
    if (last && channels.empty()) out = c.out_channels;  // keeps D
    if (out < 1) throw Error("convolution " + c.name + ": channel count must be positive");
    c.in_channels = prev;
    c.out_channels = out;
    prev = out;
    // The batch norm right after follows the width.
    for (std::size_t j = convs[k] + 1; j < ci && !s.layers[j].is<Conv2dSpec>(); ++j)
      if (auto* bn = s.layers[j].as<BatchNormSpec>()) bn->num_features = out;
  }
  if (!shape.conv_groups.empty()) {
    if (shape.conv_groups.size() != convs.size())
      throw Error("--student-groups lists " + std::to_string(shape.conv_groups.size()) +
                  " values for the teacher's " + std::to_string(convs.size()) + " convolutions");
    for (std::size_t k = 0; k < convs.size(); ++k) {
      const int g = shape.conv_groups[k];
      const Conv2dSpec c = s.layers[convs[k]].get<Conv2dSpec>();
      if (g < 1 || c.in_channels % g != 0 || c.out_channels % g != 0)
        throw Error("--student-groups: convolution " + c.name + " (" +
                    std::to_string(c.in_channels) + " -> " + std::to_string(c.out_channels) +
                    " channels) cannot take " + std::to_string(g) + " groups");
      if (g == 1) continue;
      s.layers[convs[k]] =
          LayerSpec(GroupedConvSpec{c.name, c.in_channels, c.out_channels, c.kernel_h, c.kernel_w,
                                    c.stride_h, c.stride_w, c.pad_h, c.pad_w, g, c.bias});
    }
  }
  apply_shape(s, teacher, shape);
  check_student(s, teacher);
  return s;
}

StudentFit check_student(const Architecture& student, const Architecture& teacher) {
  const int ds = feature_dimension(student), dt = feature_dimension(teacher);
  if (ds != dt)
    throw Error("the student's CNN outputs " + std::to_string(ds) +
                " features per frame, the teacher's " + std::to_string(dt) +
                ": the student must match the teacher's feature dimension D");
  if (student.input_height != teacher.input_height)
    throw Error("student and teacher input heights differ");
  const int ws = student.width_stride(), wt = teacher.width_stride();
  if (ws < wt || ws % wt != 0)
    throw Error("the student's width stride (" + std::to_string(ws) +
                ") is not a whole multiple of the teacher's (" + std::to_string(wt) +
                "): its frames would not correspond to the teacher's");
  student.validate();
  StudentFit fit;
  fit.frame_ratio = ws / wt;
  const std::size_t cs = collapse_index(student), ct = collapse_index(teacher);
  Architecture a, b;
  a.layers.assign(student.layers.begin() + static_cast<std::ptrdiff_t>(cs), student.layers.end());
  b.layers.assign(teacher.layers.begin() + static_cast<std::ptrdiff_t>(ct), teacher.layers.end());
  fit.own_sequence_half = fit.frame_ratio != 1 || a.to_json() != b.to_json();
  return fit;
}

std::vector<std::string> recurrent_prefixes(const Architecture& a) {
  std::vector<std::string> out;
  for (std::size_t i = collapse_index(a) + 1; i < a.layers.size(); ++i) {
    if (auto* l = a.layers[i].as<LstmSpec>()) out.push_back(l->name + ".");
    if (auto* l = a.layers[i].as<LinearSpec>()) out.push_back(l->name + ".");
  }
  return out;
}

TensorMap student_start(const TensorMap& initial, const Architecture& teacher,
                        const TensorMap& teacher_tensors) {
  TensorMap out = initial;
  for (auto& [name, t] : recurrent_tensors(teacher, teacher_tensors)) {
    auto it = out.find(name);
    if (it != out.end() && it->second.shape == t.shape) it->second = t;
  }
  return out;
}

TensorMap recurrent_tensors(const Architecture& teacher, const TensorMap& tensors) {
  TensorMap out;
  for (const std::string& prefix : recurrent_prefixes(teacher))
    for (const auto& [name, t] : tensors)
      if (name.compare(0, prefix.size(), prefix) == 0) out[name] = t;
  return out;
}

}  // namespace ocrcore::compress
