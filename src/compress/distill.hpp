#pragma once

#include <memory>

#include "compress/distill_loss.hpp"
#include "compress/teacher_target_cache.hpp"
#include "ocrcore/architecture.hpp"
#include "ocrcore/tensor.hpp"
#include "training/train/objective.hpp"

namespace ocrcore::compress {

struct DistillSettings {
  TsLoss loss = TsLoss::lstm_guided;
  float kl_temperature = 2.0f;
  float ctc_weight = 0.0f;  // weight of an added CTC term on labelled lines
  // Teacher frames per student frame (StudentFit): feature targets are the
  // mean of this many teacher frames. The KL loss needs 1.
  int frame_ratio = 1;
  // Teacher outputs kept per training line across epochs (and runs, with a
  // directory); set only when lines are not augmented. Must hold the outputs
  // this loss uses (features for lstm-guided and l2, logits for kl).
  std::shared_ptr<TeacherTargetCache> teacher_cache;
};

// One teacher-student step: the teacher (evaluation mode) and the student see
// the same batch; the student's CNN features (or logits, for KL) are pulled
// towards the teacher's, optionally plus CTC on the lines that have
// transcriptions. Lines need no transcription unless the loss is CTC.
class DistillObjective final : public train::Objective {
 public:
  DistillObjective(const Architecture& teacher, const TensorMap& teacher_tensors,
                   DistillSettings settings);
  train::StepLoss step(train::Network& student, const data::Batch& batch,
                       train::Collective& team) override;
  // What the teacher says about a batch at layer `end` (its feature layer or
  // logits), `frames` long (the padded batch's frame count there): from the
  // cache where it holds the lines, else by running it.
  train::Activations teacher_targets(const data::Batch& batch, const train::Activations& input,
                                     int end, int frames);
  bool needs_labels() const override { return s_.loss == TsLoss::ctc; }
  std::string name() const override { return ts_loss_name(s_.loss); }

 private:
  DistillSettings s_;
  train::Network teacher_;
  std::vector<float> metric_;  // D x D (feature losses)
};

// W'W for the LSTM-guided loss: W stacks the input weights of all gates of
// both directions of the first recurrent layer (8N x D).
std::vector<float> lstm_guided_metric(const Architecture& teacher, const TensorMap& tensors);

}  // namespace ocrcore::compress
