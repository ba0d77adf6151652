#pragma once

// What the ONNX import of each layer kind reads with: the graph (its
// constants, who reads each value, node and attribute helpers) and one
// layer's import, which maps the node the data path reached (and any nodes
// that belong to the same layer after it) to the kind's LayerSpec and
// tensors. import_onnx follows the data path and asks the registry
// (layer_onnx.hpp) which kind takes each node, so it knows no kind.

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ocrcore/tensor.hpp"
#include "onnx/onnx_model.hpp"

namespace ocrcore::onnx_io {

// A constant tensor (initialiser or Constant node) as float or int64 values.
struct ConstantTensor {
  std::vector<std::int64_t> shape;
  std::vector<float> floats;
  std::vector<std::int64_t> ints;
  bool is_float = true;
};

// "node 'NAME' (OP)".
std::string describe(const onnx::NodeProto& n);
const onnx::AttributeProto* find_attribute(const onnx::NodeProto& n, const std::string& name);
std::vector<std::int64_t> ints_attribute(const onnx::NodeProto& n, const std::string& name,
                                         std::vector<std::int64_t> fallback = {});
std::int64_t int_attribute(const onnx::NodeProto& n, const std::string& name,
                           std::int64_t fallback);
// A layer name from the node's module path ("/cnn.0/Conv" -> "cnn.0",
// "/rnn/lstm/LSTM_1" -> "rnn.lstm"), else `fallback`.
std::string layer_name(const onnx::NodeProto& n, const std::string& fallback);

// The graph being imported. Errors name the file (`source`) and the node.
class OnnxGraph {
 public:
  OnnxGraph(const onnx::ModelProto& model, std::string source);
  const onnx::ModelProto& model() const { return m_; }
  const std::string& source() const { return source_; }

  // The constant `name`, an input of `n`; throws Error when it is not one.
  const ConstantTensor& constant(const std::string& name, const onnx::NodeProto& n) const;
  bool is_constant(const std::string& name) const { return constants_.count(name) > 0; }
  // Whether any node reads `value`.
  bool is_read(const std::string& value) const { return consumers_.count(value) > 0; }
  // The one node that takes `value` (Shape nodes only read its shape), or
  // null; throws Error when several do.
  const onnx::NodeProto* next_node(const std::string& value) const;
  [[noreturn]] void fail(const onnx::NodeProto& n, const std::string& why) const;
  // An LSTM's initial state must be absent or zero: followed back through
  // shape-only operations to a zero constant.
  void require_zero(const std::string& value, const onnx::NodeProto& lstm, const char* what) const;
  // A 2-D geometry attribute (kernel_shape, strides: `count` 2; pads: 4)
  // checked for its length and a sane range before it becomes an int.
  std::vector<int> geometry(const onnx::NodeProto& n, const std::string& name,
                            std::vector<std::int64_t> fallback, std::size_t count,
                            int lowest) const;
  static constexpr int kMaxGeometry = 1 << 16;

 private:
  const onnx::ModelProto& m_;
  std::string source_;
  std::map<std::string, ConstantTensor> constants_;
  std::map<std::string, const onnx::NodeProto*> producer_;
  std::map<std::string, std::vector<const onnx::NodeProto*>> consumers_;
};

// What the data path carries: NCHW feature maps, or T x N x D frames.
enum class Carrier { maps, frames };

// A Conv node's geometry and tensors (every convolution kind reads one).
struct OnnxConv {
  int in_channels = 0, out_channels = 0, groups = 1;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  bool bias = false;
  Tensor weight, bias_tensor;
};

// One layer's import: the node the data path reached, the model so far, and
// what the path carries there. A kind's importer adds its layer and tensors
// to `out`, updates the path's description (carrier, channels, height,
// features) and, when its layer spans more nodes, sets `next` to the value
// after the last of them.
struct LayerImport {
  const OnnxGraph& graph;
  const onnx::NodeProto& node;
  std::string input;  // the value the data path brings to the node
  ImportedModel& out;
  std::string next;  // node.output(0) unless the importer consumes more nodes
  Carrier carrier;
  int channels = 0, height = 0;  // of the maps
  int features = 0;              // per frame
  std::string fallback_name;     // "layerN", for nodes without a module path

  std::string name() const { return layer_name(node, fallback_name); }
  [[noreturn]] void fail(const std::string& why) const { graph.fail(node, why); }
  // The node that reads `value` as its data input (input 0); fails with
  // `expected` when there is none or another one.
  const onnx::NodeProto& successor(const std::string& value, const std::string& expected) const;
  // The node as a Conv (checked against the maps' channel count), and the
  // maps' channels and height after it.
  OnnxConv conv();
};

}  // namespace ocrcore::onnx_io
