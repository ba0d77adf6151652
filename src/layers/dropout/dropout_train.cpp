// Dropout for training (identity in evaluation).

#include <algorithm>

#include "layers/dropout/dropout.hpp"
#include "training/data/seeding.hpp"
#include "training/train/layer_factory.hpp"
#include "training/train/parallel.hpp"

namespace ocrcore::train {

namespace {

// A value's mask is a function of the step's seed, the line's key (its index
// in the data set) and the value's place in its line, not its place in the
// padded buffer: the same whatever the padding, the order of the batch and
// the rank of a data-parallel job that computes the line.
class DropoutLayer final : public Layer {
 public:
  explicit DropoutLayer(const DropoutSpec& s) : p_(s.p) {}
  void set_seed(std::uint64_t seed, std::span<const std::uint64_t> line_keys) override {
    seed_ = seed;
    line_keys_.assign(line_keys.begin(), line_keys.end());
  }
  void forward(Activations& in, Activations& out, Mode mode) override {
    out.zeros_like(in);
    active_ = mode == Mode::training && p_ > 0.0f;
    if (!active_) {
      out.values = in.values;
      return;
    }
    const float keep_scale = 1.0f / (1.0f - p_);
    const auto threshold =
        static_cast<std::uint64_t>(static_cast<double>(p_) * 18446744073709551615.0);
    const std::size_t n = in.values.size();
    mask_.resize(n);
    // Position keys: (line, row, column, channel) of maps, (line, frame,
    // feature) of sequences, packed into 64 bits (a row < 2^12, a column
    // or frame < 2^28, a channel or feature < 2^24).
    const bool maps = in.kind == Activations::Kind::maps;
    const std::size_t inner = maps ? static_cast<std::size_t>(in.channels) : in.features;
    const std::size_t outer = n / std::max<std::size_t>(1, inner);
#pragma omp parallel for schedule(static)
    for (std::size_t o = 0; o < outer; ++o) {
      std::uint64_t line, place;
      if (maps) {  // o = (line * height + row) * width + column
        const auto w = static_cast<std::size_t>(in.width), h = static_cast<std::size_t>(in.height);
        line = o / (w * h);
        place = ((o / w) % h) << 52 | (o % w) << 24;
      } else {  // o = frame * batch + line
        const auto b = static_cast<std::size_t>(in.batch);
        line = o % b;
        place = (o / b) << 24;
      }
      const std::uint64_t key = line < line_keys_.size() ? line_keys_[line] : line;
      const std::uint64_t line_key = data::mix_bits(seed_ ^ data::mix_bits(key));
      for (std::size_t k = 0; k < inner; ++k) {
        const std::size_t i = o * inner + k;
        mask_[i] = data::mix_bits(line_key ^ (place | k)) >= threshold ? keep_scale : 0.0f;
        out.values[i] = in.values[i] * mask_[i];
      }
    }
  }
  void backward(const Activations& in, const Activations& /*out*/, Activations& diff_out,
                Activations* diff_in) override {
    if (!diff_in) return;
    diff_in->zeros_like(in);
    for (std::size_t i = 0; i < in.values.size(); ++i)
      diff_in->values[i] = active_ ? diff_out.values[i] * mask_[i] : diff_out.values[i];
  }

 private:
  float p_;
  std::uint64_t seed_ = 0;
  std::vector<std::uint64_t> line_keys_;  // by line of the batch
  bool active_ = false;
  std::vector<float> mask_;
};

}  // namespace

namespace {

std::unique_ptr<Layer> make_dropout_layer(const DropoutSpec& s) {
  return std::make_unique<DropoutLayer>(s);
}

}  // namespace

void register_dropout_train(TrainLayerRegistry& registry) {
  registry.add<DropoutSpec, make_dropout_layer>();
}

}  // namespace ocrcore::train
