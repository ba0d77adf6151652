#include "training/train/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "ocrcore/error.hpp"

namespace ocrcore::train {

OptimizerSettings::Kind parse_optimizer_kind(const std::string& name) {
  if (name == "adam") return OptimizerSettings::Kind::adam;
  if (name == "adamw") return OptimizerSettings::Kind::adamw;
  if (name == "sgd") return OptimizerSettings::Kind::sgd;
  throw Error("unknown optimiser '" + name + "' (adam, adamw, sgd)");
}

float LearningRateSchedule::at(std::int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps)
    return base * static_cast<float>(step + 1) / static_cast<float>(warmup_steps);
  if (decay == Decay::constant || total_steps <= warmup_steps) return base;
  const double progress = std::clamp(
      static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps),
      0.0, 1.0);
  double factor = 1.0;
  if (decay == Decay::cosine) {
    factor =
        final_ratio + (1.0 - final_ratio) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  } else {  // step: x0.1 at 60% and 85% of the steps after warm-up, floored at final_ratio
    factor = progress < 0.6 ? 1.0 : progress < 0.85 ? 0.1 : 0.01;
    factor = std::max(factor, static_cast<double>(final_ratio));
  }
  return static_cast<float>(base * factor);
}

Optimizer::Moments& Optimizer::moments_for(const Parameter& p) {
  for (auto& [name, m] : moments_)
    if (name == p.name) return m;
  moments_.emplace_back(p.name, Moments{});
  Moments& m = moments_.back().second;
  m.m.assign(p.numel(), 0.0f);
  if (s_.kind != OptimizerSettings::Kind::sgd) m.v.assign(p.numel(), 0.0f);
  return m;
}

double Optimizer::step(const std::vector<Parameter*>& params, float lr) {
  double sq = 0.0;
  for (const Parameter* p : params)
    if (p->trainable && !p->frozen)
      for (float g : p->grad)
        sq += static_cast<double>(g) * g;
  const double norm = std::sqrt(sq);
  if (!std::isfinite(norm)) return std::numeric_limits<double>::quiet_NaN();
  const float clip =
      (s_.clip_norm > 0 && norm > s_.clip_norm) ? static_cast<float>(s_.clip_norm / norm) : 1.0f;
  ++steps_;
  const auto t = static_cast<double>(steps_);
  const auto bc1 = static_cast<float>(1.0 - std::pow(s_.beta1, t));
  const auto bc2 = static_cast<float>(1.0 - std::pow(s_.beta2, t));
  for (Parameter* p : params) {
    if (!p->trainable || p->frozen) continue;
    Moments& mo = moments_for(*p);
    float* w = p->value.data();
    const float* gr = p->grad.data();
    const std::size_t n = p->numel();
    switch (s_.kind) {
      case OptimizerSettings::Kind::adam:
      case OptimizerSettings::Kind::adamw: {
        const bool decoupled = s_.kind == OptimizerSettings::Kind::adamw;
        for (std::size_t i = 0; i < n; ++i) {
          float g = gr[i] * clip;
          if (!decoupled) g += s_.weight_decay * w[i];
          mo.m[i] = s_.beta1 * mo.m[i] + (1 - s_.beta1) * g;
          mo.v[i] = s_.beta2 * mo.v[i] + (1 - s_.beta2) * g * g;
          const float update = (mo.m[i] / bc1) / (std::sqrt(mo.v[i] / bc2) + s_.eps);
          if (decoupled) w[i] -= lr * s_.weight_decay * w[i];
          w[i] -= lr * update;
        }
        break;
      }
      case OptimizerSettings::Kind::sgd:
        for (std::size_t i = 0; i < n; ++i) {
          const float g = gr[i] * clip + s_.weight_decay * w[i];
          mo.m[i] = s_.momentum * mo.m[i] + g;
          w[i] -= lr * mo.m[i];
        }
        break;
    }
  }
  return norm;
}

TensorMap Optimizer::state() const {
  TensorMap out;
  Tensor steps({1});
  steps.data[0] = static_cast<float>(steps_);  // exact up to 2^24 steps
  out.emplace("optimizer.steps", std::move(steps));
  for (const auto& [name, mo] : moments_) {
    Tensor m({static_cast<std::int64_t>(mo.m.size())});
    m.data = mo.m;
    out.emplace("optimizer.m." + name, std::move(m));
    if (!mo.v.empty()) {
      Tensor v({static_cast<std::int64_t>(mo.v.size())});
      v.data = mo.v;
      out.emplace("optimizer.v." + name, std::move(v));
    }
  }
  return out;
}

void Optimizer::load_state(const TensorMap& state, const std::vector<Parameter*>& params) {
  moments_.clear();
  auto it = state.find("optimizer.steps");
  steps_ = it == state.end() ? 0 : static_cast<std::int64_t>(it->second.data.at(0));
  for (const Parameter* p : params) {
    if (!p->trainable) continue;
    auto m = state.find("optimizer.m." + p->name);
    if (m == state.end()) continue;
    if (m->second.data.size() != p->numel())
      throw Error("optimiser state for " + p->name + " has the wrong size");
    Moments& mo = moments_for(*p);
    mo.m = m->second.data;
    auto v = state.find("optimizer.v." + p->name);
    if (!mo.v.empty() && v != state.end()) mo.v = v->second.data;
  }
}

}  // namespace ocrcore::train
