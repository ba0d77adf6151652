#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ocrcore/tensor.hpp"
#include "training/train/activations.hpp"

namespace ocrcore::train {

struct OptimizerSettings {
  enum class Kind { adam, adamw, sgd };
  Kind kind = Kind::adam;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float momentum = 0.9f;      // sgd
  float weight_decay = 0.0f;  // L2 for adam/sgd, decoupled for adamw
  float clip_norm = 0.0f;     // global gradient norm limit; 0 = off
};

OptimizerSettings::Kind parse_optimizer_kind(const std::string& name);

// Learning rate over steps: linear warm-up from 0, then constant, cosine
// decay or step decay down to `final_ratio` x base at `total_steps`.
struct LearningRateSchedule {
  enum class Decay { constant, cosine, step };
  float base = 1e-3f;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 0;
  Decay decay = Decay::cosine;
  float final_ratio = 0.01f;
  float at(std::int64_t step) const;
};

// Updates trainable, non-frozen parameters from their gradients. Its state
// (moments, step count) round-trips through tensors for checkpoints.
class Optimizer {
 public:
  explicit Optimizer(OptimizerSettings settings) : s_(settings) {}
  // Clips (if set) and applies one update; returns the gradient norm before
  // clipping. Non-finite gradients skip the update and return NaN.
  double step(const std::vector<Parameter*>& params, float learning_rate);
  std::int64_t steps() const { return steps_; }
  TensorMap state() const;
  void load_state(const TensorMap& state, const std::vector<Parameter*>& params);

 private:
  OptimizerSettings s_;
  std::int64_t steps_ = 0;
  struct Moments {
    std::vector<float> m, v;
  };
  std::vector<std::pair<std::string, Moments>> moments_;  // by parameter name
  Moments& moments_for(const Parameter& p);
};

}  // namespace ocrcore::train
