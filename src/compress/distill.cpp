#include "compress/distill.hpp"

#include <algorithm>
#include <cmath>

#include "compress/student.hpp"
#include "layers/lstm/lstm.hpp"
#include "ocrcore/error.hpp"
#include "training/train/ctc_loss.hpp"

namespace ocrcore::compress {

std::vector<float> lstm_guided_metric(const Architecture& teacher, const TensorMap& tensors) {
  const std::size_t ci = collapse_index(teacher);
  for (std::size_t i = ci + 1; i < teacher.layers.size(); ++i) {
    auto* l = teacher.layers[i].as<LstmSpec>();
    if (!l) continue;
    std::vector<float> w;
    int rows = 0;
    for (int d = 0; d < l->directions(); ++d) {
      const Tensor& t = tensors.at(l->tensor_names(0, d).weight_ih);
      w.insert(w.end(), t.data.begin(), t.data.end());
      rows += static_cast<int>(t.shape[0]);
    }
    return gram_matrix(w, rows, l->input_size);
  }
  throw Error("the LSTM-guided loss needs an LSTM after the teacher's CNN");
}

DistillObjective::DistillObjective(const Architecture& teacher, const TensorMap& tensors,
                                   DistillSettings s)
    : s_(s), teacher_(teacher) {
  if (s_.frame_ratio < 1) throw Error("the student's frame ratio must be at least 1");
  if (s_.loss == TsLoss::kl && s_.frame_ratio != 1)
    throw Error(
        "the kl loss compares frame by frame: the student must run at the teacher's frame "
        "rate (its width stride " +
        std::to_string(s_.frame_ratio) + " times the teacher's)");
  teacher_.load(tensors);
  const int D = feature_dimension(teacher);
  if (s_.loss == TsLoss::lstm_guided) {
    // W'W scaled to a mean eigenvalue of 1, as the identity of l2 has: the two
    // criteria then differ in which directions of the feature error they
    // weigh, not in the size of the loss (which, with gradient clipping and
    // Adam's epsilon, would act as a different learning rate).
    metric_ = lstm_guided_metric(teacher, tensors);
    double trace = 0;
    for (int i = 0; i < D; ++i)
      trace += metric_[static_cast<std::size_t>(i) * D + i];
    if (trace > 0)
      for (float& v : metric_)
        v = static_cast<float>(v * static_cast<double>(D) / trace);
  }
  if (s_.loss == TsLoss::l2) metric_ = identity_matrix(D);
}

train::Activations DistillObjective::teacher_targets(const data::Batch& batch,
                                                     const train::Activations& input, int end,
                                                     int batch_frames) {
  using train::Activations;
  TeacherTargetCache* cache = s_.teacher_cache.get();
  if (!cache) return teacher_.forward(input, train::Mode::evaluation, 0, end);
  // With the cache a line's targets are a function of the line alone, so that
  // a run gives the same numbers whether a line was held or not (after a
  // resume, in a later run, or past the budget): a line the cache lacks runs
  // through the teacher on its own, and every target is rounded to fp16 as
  // stored.
  const int N = static_cast<int>(batch.lines.size());
  Activations target;
  for (int n = 0; n < N; ++n) {
    const std::uint64_t key = line_key(batch.lines[n]);
    auto held = cache->find(key);
    Activations fresh;
    int frames;
    if (held) {
      frames = held->frames;
    } else {
      fresh = teacher_.forward(train::Network::make_input(std::span(&batch.lines[n], 1)),
                               train::Mode::evaluation, 0, end);
      frames = fresh.lengths[0];
      round_to_fp16(fresh);
      cache->insert(key, fresh, 0);
      cache->count_miss();
    }
    if (frames > batch_frames)
      throw Error("teacher targets: line of " + std::to_string(frames) + " frames in a batch of " +
                  std::to_string(batch_frames));
    if (target.values.empty()) {
      target.resize_sequences(batch_frames, N, held ? held->features : fresh.features);
      std::fill(target.values.begin(), target.values.end(), 0.0f);
    }
    target.lengths[n] = frames;
    if (held) {
      held->copy_into(target, n);
    } else {
      for (int t = 0; t < frames; ++t)
        std::copy_n(fresh.frame(t, 0), target.features, target.frame(t, n));
    }
  }
  return target;
}

train::StepLoss DistillObjective::step(train::Network& student, const data::Batch& batch,
                                       train::Collective& team) {
  using train::Activations;
  using train::Mode;
  train::StepLoss out;
  const Activations input = train::Network::make_input(batch.lines);
  const int end = student.layer_count();
  const int logits = end - 1;  // input of the final log-softmax
  const bool feature_loss = s_.loss == TsLoss::lstm_guided || s_.loss == TsLoss::l2;
  const int s_feat = student.first_sequence_layer(), t_feat = teacher_.first_sequence_layer();

  // The CTC term (or loss) on labelled lines only; without it the student
  // runs only as far as the loss needs (its CNN for feature losses).
  const bool want_ctc = s_.loss == TsLoss::ctc || s_.ctc_weight > 0;
  const int at = feature_loss ? s_feat : logits;
  const Activations& log_probs = student.forward(input, Mode::training, 0, want_ctc ? end : at);

  // What the teacher says about this batch.
  Activations target;
  const int frames = student.activation(at).frames;
  if (feature_loss && s_.frame_ratio == 1) target = teacher_targets(batch, input, t_feat, frames);
  if (feature_loss && s_.frame_ratio > 1) {
    // A line's teacher frames number less than ratio x (its student frames + 1).
    const int r = s_.frame_ratio;
    target = pool_frames(teacher_targets(batch, input, t_feat, r * (frames + 1)), r,
                         student.activation(at).lengths, frames);
  }
  if (s_.loss == TsLoss::kl) target = teacher_targets(batch, input, logits, frames);
  Activations ctc_grad;
  std::vector<char> use;  // lines the CTC term learns from
  double ctc_local_sum = 0;
  if (want_ctc) {
    train::CtcLossResult ctc = train::ctc_loss(log_probs, batch.targets, &ctc_grad);
    use.assign(batch.lines.size(), 0);
    for (std::size_t n = 0; n < batch.lines.size(); ++n)
      use[n] = (batch.labelled.empty() || batch.labelled[n]) && std::isfinite(ctc.loss[n]);
    for (int n : ctc.unaligned)
      if (batch.labelled.empty() || batch.labelled[n])
        out.problems.push_back("line cannot be aligned (more characters than frames): " +
                               batch.texts[n]);
    for (std::size_t n = 0; n < use.size(); ++n)
      if (use[n]) ctc_local_sum += ctc.loss[n];
  }
  // [lines with CTC, their CTC losses, lines] over the global batch: each
  // term is a mean over the global batch's lines.
  double totals[3] = {0.0, ctc_local_sum, static_cast<double>(batch.lines.size())};
  for (char u : use)
    totals[0] += u;
  team.sum(totals);
  const auto ctc_lines = static_cast<std::size_t>(totals[0]);
  const double ctc_sum = totals[1];
  if (want_ctc) {
    const float w = s_.loss == TsLoss::ctc ? 1.0f : s_.ctc_weight;
    for (int t = 0; t < ctc_grad.frames; ++t)
      for (int n = 0; n < ctc_grad.batch; ++n) {
        float* g = ctc_grad.frame(t, n);
        const float scale = use[n] && ctc_lines ? w / static_cast<float>(ctc_lines) : 0.0f;
        for (int k = 0; k < ctc_grad.features; ++k)
          g[k] *= scale;
      }
  }
  if (s_.loss == TsLoss::ctc) {
    if (ctc_lines == 0) return out;
    student.backward(ctc_grad);
    out.loss = ctc_sum / static_cast<double>(ctc_lines);
    out.lines = ctc_lines;
    return out;
  }

  // Teacher-guided term at the student's features (or logits), a mean over
  // the global batch's lines; the loss reported is the global one.
  const int lines = static_cast<int>(totals[2]);
  Activations grad;
  double guided = feature_loss
                      ? feature_matching_loss(student.activation(at), target, metric_, &grad, lines)
                      : kl_loss(student.activation(at), target, s_.kl_temperature, &grad, lines);
  team.sum(std::span(&guided, 1));
  if (want_ctc && ctc_lines > 0) {
    const Activations* from_ctc = student.backward(ctc_grad, at, true);
    for (std::size_t i = 0; i < grad.values.size(); ++i)
      grad.values[i] += from_ctc->values[i];
  }
  student.backward_from(at, grad, 0);
  out.loss = guided + (ctc_lines ? s_.ctc_weight * ctc_sum / static_cast<double>(ctc_lines) : 0.0);
  out.lines = static_cast<std::size_t>(lines);
  return out;
}

}  // namespace ocrcore::compress
