#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "ocrcore/architecture.hpp"
#include "ocrcore/tensor.hpp"
#include "runtime/graph/reference_data.hpp"

namespace ocrcore::detail {

struct Int8Rows;  // runtime/graph/quantization.hpp
struct ScaleShiftOp;

// The network as the engines run it: ops, each a kind's compiled form
// (src/layers/<kind>/), after the graph passes (runtime/graph/passes.hpp): batch norm
// folded into the convolution before it, ReLU fused into the layer before it
// where possible; dropout gone; every bias present (zeros where the file had
// none).

// One line's data between ops in the reference engine: a feature map before
// the collapse, a frame sequence after it.
struct ReferenceValue {
  FeatureMap map;
  Sequence sequence;
  bool is_sequence = false;
};

// How an op computes in the reference engine: with its int8 weights (an int8
// convolution), or in bf16 arithmetic.
struct ReferenceArithmetic {
  const Int8Rows* int8 = nullptr;
  bool bf16 = false;
};

// One op of the compiled network. The engines find what runs it by its type
// (the oneDNN engine's executor registry); what every engine and pass asks
// of any op is here.
class Op {
 public:
  Op() = default;
  Op(const Op&) = default;
  Op& operator=(const Op&) = default;
  virtual ~Op() = default;

  // "conv 64->128 3x3": for profiles and messages.
  virtual std::string describe() const = 0;
  // The plain reference forward of one line (src/layers/<kind>/<kind>_reference.cpp).
  virtual void reference(ReferenceValue& value, const ReferenceArithmetic& arithmetic) const = 0;

  // Graph passes. Takes over a per-channel map applied to its output (a
  // batch norm after it, ScaleShiftOp); false if it cannot.
  virtual bool fold_scale_shift(const ScaleShiftOp& /*map*/) { return false; }
  // Takes over the ReLU after it; false if it cannot (or has one already).
  virtual bool fuse_relu() { return false; }
  // Whether it turns the feature map into frames (the collapse): the ops
  // after it run on frame sequences.
  virtual bool makes_sequence() const { return false; }

  // Quantisation rules (runtime/graph/quantization.hpp). A plain convolution that runs
  // in int8 when its input cannot be negative:
  virtual bool int8_capable() const { return false; }
  // Convolutions that run in bf16 with conv_precision bf16 (but as the image layer):
  virtual bool bf16_capable() const { return false; }
  // Whether its output cannot be negative, given whether its input can.
  virtual bool output_nonnegative(bool /*input_nonnegative*/) const { return false; }
  // An int8-capable op's weights as the int8 engines run them.
  virtual Int8Rows int8_weights() const;
  // The model's tensors an int8 file stores as I8 for this op (`runs_int8`:
  // whether it is one of the int8 convolutions).
  virtual void int8_stored_tensors(bool /*runs_int8*/, std::vector<std::string>& /*names*/) const {}
};

// `op` as an op of type T, or nullptr.
template <class T>
const T* op_as(const Op& op) {
  return dynamic_cast<const T*>(&op);
}
template <class T>
T* op_as(Op& op) {
  return dynamic_cast<T*>(&op);
}
// Calls f(op as T) for the first of the types Ts... that `op` is of; false if
// it is of none of them (code that handles some kinds of op only).
template <class... Ts, class F>
bool visit_ops(const Op& op, F&& f) {
  return ((op_as<Ts>(op) ? (f(*op_as<Ts>(op)), true) : false) || ...);
}

// A per-channel affine map y = (x - center[c]) * scale[c] + shift[c] (a batch
// norm), until the pass folds it into the convolution before it.
struct ScaleShiftOp final : Op {
  std::vector<float> center, shift;
  std::vector<double> scale;

  std::string describe() const override { return "scale-shift"; }
  void reference(ReferenceValue& value, const ReferenceArithmetic& arithmetic) const override;
};

// A ReLU the pass could not fuse into the op before it.
struct ReluOp final : Op {
  std::string describe() const override { return "relu"; }
  void reference(ReferenceValue& value, const ReferenceArithmetic& arithmetic) const override;
  bool output_nonnegative(bool) const override { return true; }
};

struct CompiledNetwork {
  int input_height = 0;
  int num_classes = 0;
  int min_width = 1;  // narrower lines are padded with background to this width
  std::vector<std::unique_ptr<Op>> ops;
};

// `tensors` must already hold every required tensor with its shape (the model
// loader checks that first). The second form takes the values over instead of
// copying them, so a loaded model holds its weights once.
CompiledNetwork compile_network(const Architecture& architecture, const TensorMap& tensors);
CompiledNetwork compile_network(const Architecture& architecture, TensorMap&& tensors);

}  // namespace ocrcore::detail
