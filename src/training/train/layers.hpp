#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "ocrcore/architecture.hpp"
#include "training/train/activations.hpp"

namespace ocrcore::train {

class Collective;

// Whether a forward pass trains (batch statistics, dropout) or evaluates.
enum class Mode { training, evaluation };

// One layer of a trainable network. forward() may overwrite the padding of its
// input (what the layer must see outside each line) and keeps what backward()
// needs; backward() adds parameter gradients into Parameter::grad and, when
// `diff_in` is non-null, writes the gradient of its input with zeros in the
// padding. backward() may consume `diff_out` (reuse its storage for
// `diff_in`): callers must not read it afterwards.
class Layer {
 public:
  virtual ~Layer() = default;
  virtual void forward(Activations& in, Activations& out, Mode mode) = 0;
  virtual void backward(const Activations& in, const Activations& out, Activations& diff_out,
                        Activations* diff_in) = 0;
  // Trainable parameters and buffers, in model-file names.
  virtual std::vector<Parameter*> parameters() { return {}; }
  // Per-step seed for layers with randomness (dropout), and a key per line
  // of the batch (its index in the data set; none: its place in the batch):
  // a line's random draws depend on the seed and its key, not on the order of
  // the batch or the rank of a data-parallel job that computes it.
  virtual void set_seed(std::uint64_t /*seed*/, std::span<const std::uint64_t> /*line_keys*/) {}
  // The job whose ranks share each step's batch statistics (batch norm);
  // null: this process alone.
  virtual void set_collective(Collective* /*team*/) {}
  // Fresh values for its parameters, drawn from `rng` in parameter order
  // (the network calls each layer in turn). By default: Kaiming-normal
  // convolution weights [out][in][kh][kw], PyTorch-style uniform linear
  // weights [out][in], everything else (biases) zero.
  virtual void initialize(std::mt19937_64& rng);
};

// Builds the layer for one architecture entry through the registry
// (train/layer_factory.hpp); parameters start at zero (the network
// initialises or loads them).
std::unique_ptr<Layer> make_layer(const LayerSpec& spec);
// Log-softmax over the features of each frame: the network's last step.
std::unique_ptr<Layer> make_log_softmax();

}  // namespace ocrcore::train
