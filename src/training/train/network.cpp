#include "training/train/network.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "layers/layer_registry.hpp"
#include "ocrcore/error.hpp"
#include "training/train/layer_factory.hpp"

namespace ocrcore::train {

Network::Network(Architecture architecture) : architecture_(std::move(architecture)) {
  architecture_.validate();
  first_sequence_layer_ = detail::first_sequence_layer(architecture_);
  const auto& specs = architecture_.layers;
  const TrainLayerRegistry& registry = train_layers();
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (i + 1 < specs.size()) {
      if (const auto fused = registry.fusion(specs[i], specs[i + 1])) {
        layers_.push_back(fused(specs[i], specs[i + 1]));
        layers_.push_back(make_pass_through_layer());
        ++i;
        continue;
      }
    }
    layers_.push_back(registry.make(specs[i]));
  }
  layers_.push_back(make_log_softmax());
  acts_.resize(layers_.size() + 1);
  diffs_.resize(layers_.size() + 1);
  forward_seconds_.assign(layers_.size(), 0.0);
  backward_seconds_.assign(layers_.size(), 0.0);
}

Network::~Network() = default;
Network::Network(Network&&) noexcept = default;
Network& Network::operator=(Network&&) noexcept = default;

std::vector<Parameter*> Network::parameters() {
  std::vector<Parameter*> all;
  for (auto& l : layers_)
    for (Parameter* p : l->parameters())
      all.push_back(p);
  return all;
}

void Network::initialize(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (auto& layer : layers_)
    layer->initialize(rng);
}

void Network::load(const TensorMap& tensors) {
  std::string problems;
  for (Parameter* p : parameters()) {
    auto it = tensors.find(p->name);
    if (it == tensors.end()) {
      problems += "\n  missing tensor " + p->name;
      continue;
    }
    if (it->second.shape != p->shape) {
      auto dims = [](const std::vector<std::int64_t>& s) {
        std::string r = "[";
        for (std::size_t i = 0; i < s.size(); ++i)
          r += (i ? ", " : "") + std::to_string(s[i]);
        return r + "]";
      };
      problems += "\n  tensor " + p->name + " has shape " + dims(it->second.shape) +
                  ", the architecture needs " + dims(p->shape);
      continue;
    }
    p->value = it->second.data;
  }
  if (!problems.empty()) throw Error("weights do not fit the architecture:" + problems);
}

TensorMap Network::tensors() const {
  TensorMap out;
  for (auto& l : layers_)
    for (Parameter* p : l->parameters()) {
      Tensor t(p->shape);
      t.data = p->value;
      out.emplace(p->name, std::move(t));
    }
  return out;
}

int Network::freeze(const std::vector<std::string>& prefixes) {
  int count = 0;
  for (const std::string& prefix : prefixes) {
    int matched = 0;
    for (Parameter* p : parameters())
      if (p->trainable && p->name.compare(0, prefix.size(), prefix) == 0) {
        p->frozen = true;
        ++matched;
      }
    if (matched == 0) throw Error("--freeze " + prefix + ": no parameter has that name or prefix");
    count += matched;
  }
  return count;
}

void Network::zero_grad() {
  for (Parameter* p : parameters())
    std::fill(p->grad.begin(), p->grad.end(), 0.0f);
}

void Network::set_step_seed(std::uint64_t seed, std::span<const std::uint64_t> line_keys) {
  for (std::size_t i = 0; i < layers_.size(); ++i)
    layers_[i]->set_seed(seed * 0x9e3779b97f4a7c15ULL + i, line_keys);
}

void Network::set_collective(Collective* team) {
  for (auto& layer : layers_)
    layer->set_collective(team);
}

Activations Network::make_input(std::span<const LineTensor> lines, int width_quantum) {
  if (lines.empty()) throw Error("empty batch");
  int widest = 1;
  for (const LineTensor& l : lines)
    widest = std::max(widest, l.width);
  const int q = std::max(1, width_quantum);
  const int W = (widest + q - 1) / q * q;
  const int H = lines[0].height;
  Activations a;
  a.resize_maps(static_cast<int>(lines.size()), 1, H, W);
  std::fill(a.values.begin(), a.values.end(), 0.0f);
  for (std::size_t n = 0; n < lines.size(); ++n) {
    const LineTensor& l = lines[n];
    if (l.height != H) throw Error("lines of one batch must share the input height");
    a.lengths[n] = l.width;
    for (int y = 0; y < H; ++y)
      std::copy_n(l.pixels.data() + static_cast<std::size_t>(y) * l.width, l.width,
                  a.values.data() + (n * static_cast<std::size_t>(H) + y) * W);
  }
  return a;
}

const Activations& Network::forward(Activations input, Mode mode, int begin, int end) {
  if (end < 0) end = layer_count();
  if (begin < 0 || begin > end || end > layer_count()) throw Error("bad layer range");
  forward_begin_ = begin;
  forward_end_ = end;
  acts_[begin] = std::move(input);
  for (int i = begin; i < end; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    layers_[i]->forward(acts_[i], acts_[i + 1], mode);
    forward_seconds_[i] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return acts_[end];
}

const Activations* Network::backward(const Activations& diff_output, int stop,
                                     bool want_input_grad) {
  return backward_from(forward_end_, diff_output, stop, want_input_grad);
}

const Activations* Network::backward_from(int from, const Activations& diff, int stop,
                                          bool want_input_grad) {
  if (stop < 0) stop = forward_begin_;
  if (stop < forward_begin_) throw Error("backward below the forward pass's first layer");
  if (from > forward_end_ || from < stop) throw Error("backward from outside the forward pass");
  diffs_[from] = diff;
  for (int i = from - 1; i >= stop; --i) {
    Activations* din = (i > stop || want_input_grad) ? &diffs_[i] : nullptr;
    const auto t0 = std::chrono::steady_clock::now();
    layers_[i]->backward(acts_[i], acts_[i + 1], diffs_[i + 1], din);
    backward_seconds_[i] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return want_input_grad ? &diffs_[stop] : nullptr;
}

}  // namespace ocrcore::train
