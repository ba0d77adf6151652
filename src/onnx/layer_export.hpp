#pragma once

// What the ONNX export of each layer kind writes with: the graph builder and
// one layer's export (the kinds' exporters register in layer_onnx.hpp).

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ocrcore/architecture.hpp"
#include "ocrcore/tensor.hpp"

namespace ocrcore::onnx_io {

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto* g) : g_(g) {}

  onnx::NodeProto* node(const std::string& op, const std::string& name,
                        std::vector<std::string> inputs) {
    onnx::NodeProto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : inputs)
      n->add_input(i);
    n->add_output(name + "_output");
    return n;
  }
  void float_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                    const std::vector<float>& v) {
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims)
      t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
  }
  template <typename T>
  void typed_tensor(const std::string& name, int type, const std::vector<std::int64_t>& dims,
                    const std::vector<T>& v) {
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (auto d : dims)
      t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)));
  }
  void int_tensor(const std::string& name, const std::vector<std::int64_t>& v) {
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<std::int64_t>(v.size()));
    for (auto x : v)
      t->add_int64_data(x);
  }
  static void ints(onnx::NodeProto* n, const std::string& name, std::vector<std::int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v)
      a->add_ints(x);
  }
  static void integer(onnx::NodeProto* n, const std::string& name, std::int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void real(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void string(onnx::NodeProto* n, const std::string& name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  }

 private:
  onnx::GraphProto* g_;
};

// ONNX LSTM gate g (i, o, f, c) is PyTorch's and ocrcore's gate
// kTorchGateOfOnnxGate[g] (i, f, g, o).
constexpr int kTorchGateOfOnnxGate[4] = {0, 3, 1, 2};

// One layer's export: it reads the value `current`, adds its nodes and
// initializers, and sets `current` to the value it writes. Names follow
// docs/model-format.md's tensors, so that import(export(m)) gives m.
struct LayerExport {
  GraphBuilder& graph;
  const TensorMap& tensors;
  std::string current;
  std::string anon;  // the layer's index: names for layers without one

  // The model's tensor `name`; throws Error if it has none.
  const Tensor& tensor(const std::string& name) const;
  // A Conv node on `current` with NAME.weight (and NAME.bias): conv2d, each
  // factor of a Tucker convolution, a grouped convolution.
  void conv(const std::string& name, int kernel_h, int kernel_w, int stride_h, int stride_w,
            int pad_h, int pad_w, bool bias, int groups = 1);
};

}  // namespace ocrcore::onnx_io
