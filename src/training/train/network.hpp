#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ocrcore/architecture.hpp"
#include "ocrcore/image.hpp"
#include "ocrcore/tensor.hpp"
#include "training/train/layers.hpp"

namespace ocrcore::train {

// A CNN-DBLSTM network in training form: the layers of an Architecture plus a
// final log-softmax, with parameters, gradients and what backward needs.
// Batch norm stays a layer (batch statistics); exporting gives the model-file
// tensors, which the runtime folds.
class Network {
 public:
  explicit Network(Architecture architecture);
  ~Network();
  Network(Network&&) noexcept;
  Network& operator=(Network&&) noexcept;

  const Architecture& architecture() const { return architecture_; }
  // Layers including the final log-softmax; layer i is architecture layer i.
  // A ReLU right after a batch norm is computed by the batch norm (one memory
  // pass less each way); its own slot passes buffers through.
  int layer_count() const { return static_cast<int>(layers_.size()); }
  // Index of the collapse layer's output (the CNN's feature sequence), i.e. the
  // first layer of the recurrent part.
  int first_sequence_layer() const { return first_sequence_layer_; }

  // Fresh weights: Kaiming-normal convolutions, PyTorch-style uniform LSTM and
  // linear weights with forget-gate bias 1, batch norm at identity.
  void initialize(std::uint64_t seed);
  // Copies every tensor the architecture needs; throws Error naming each
  // missing or mis-shaped tensor. Extra tensors are ignored.
  void load(const TensorMap& tensors);
  // Parameters and buffers in model-file names (ready for save_model).
  TensorMap tensors() const;

  // Parameters and buffers of all layers, in layer order.
  std::vector<Parameter*> parameters();
  // Freezes every parameter whose name starts with one of `prefixes` (or
  // matches it exactly); returns how many were frozen. Throws Error when a
  // prefix matches nothing.
  int freeze(const std::vector<std::string>& prefixes);
  void zero_grad();
  // Seeds this step's random layers (dropout) so a resumed run repeats them;
  // `line_keys`: each line's index in the data set (Layer::set_seed).
  void set_step_seed(std::uint64_t seed, std::span<const std::uint64_t> line_keys = {});
  // Shares training-mode batch statistics (batch norm) across the job's
  // ranks, as one batch; null: this process alone (the default).
  void set_collective(Collective* team);

  // A batch of normalised lines as network input; the padded width is rounded
  // up to a multiple of `width_quantum` so that batches reuse a few shapes.
  static constexpr int kWidthQuantum = 32;
  static Activations make_input(std::span<const LineTensor> lines,
                                int width_quantum = kWidthQuantum);

  // Runs layers [begin, end) (end = -1: to the log-softmax) on `input`,
  // keeping every intermediate result; returns the last.
  const Activations& forward(Activations input, Mode mode, int begin = 0, int end = -1);
  // Back-propagates `diff_output` (gradient of the output of the last
  // forward's range, zero in the padding) down to layer `stop` (>= the
  // forward's begin), accumulating parameter gradients. Returns the gradient
  // of layer `stop`'s input when `want_input_grad`.
  const Activations* backward(const Activations& diff_output, int stop = -1,
                              bool want_input_grad = false);
  // The same starting from the output of layer `from` - 1 (the input of
  // layer `from`, within the last forward's range) instead of the end.
  const Activations* backward_from(int from, const Activations& diff, int stop = -1,
                                   bool want_input_grad = false);
  // The input of layer i as of the last forward (i = end: the output).
  const Activations& activation(int i) const { return acts_.at(i); }

  // Seconds spent per layer since construction (forward, backward): for
  // profiling the trainer.
  const std::vector<double>& forward_seconds() const { return forward_seconds_; }
  const std::vector<double>& backward_seconds() const { return backward_seconds_; }

 private:
  Architecture architecture_;
  std::vector<std::unique_ptr<Layer>> layers_;
  int first_sequence_layer_ = -1;
  std::vector<Activations> acts_;   // acts_[i] = input of layer i
  std::vector<Activations> diffs_;  // diffs_[i] = gradient of acts_[i]
  int forward_begin_ = 0, forward_end_ = 0;
  std::vector<double> forward_seconds_, backward_seconds_;
};

}  // namespace ocrcore::train
