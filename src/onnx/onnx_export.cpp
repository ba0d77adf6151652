// ocrcore -> ONNX, layer by layer, with names the importer maps back (see
// onnx_import.cpp) so that import(export(m)) gives m.

#include <onnx/onnx_pb.h>

#include <nlohmann/json.hpp>

#include "layers/collapse/collapse_op.hpp"
#include "layers/linear/linear_op.hpp"
#include "layers/lstm/lstm_op.hpp"
#include "layers/max_pool/max_pool_op.hpp"
#include "layers/tucker_conv/tucker_conv_op.hpp"
#include "ocrcore/error.hpp"
#include "onnx/layer_onnx.hpp"
#include "onnx/onnx_model.hpp"
#include "runtime/core/file_io.hpp"
#include "runtime/core/overloaded.hpp"
#include "runtime/core/preprocessing_json.hpp"
#include "runtime/graph/quantization.hpp"
#include "runtime/model/model_access.hpp"

namespace ocrcore::onnx_io {

namespace {

void add_input_output(onnx::GraphProto* g, const Model& model) {
  const Architecture& arch = model.architecture();
  auto* in = g->add_input();
  in->set_name("image");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tt->mutable_shape();
  shape->add_dim()->set_dim_param("batch");
  shape->add_dim()->set_dim_value(arch.input_channels);
  shape->add_dim()->set_dim_value(arch.input_height);
  shape->add_dim()->set_dim_param("width");
  auto* out = g->add_output();
  out->set_name("log_probs");
  auto* ot = out->mutable_type()->mutable_tensor_type();
  ot->set_elem_type(onnx::TensorProto::FLOAT);
  auto* oshape = ot->mutable_shape();
  oshape->add_dim()->set_dim_param("frames");
  oshape->add_dim()->set_dim_param("batch");
  oshape->add_dim()->set_dim_value(model.num_classes());
}

void add_metadata(onnx::ModelProto& m, const Model& model) {
  auto* alpha = m.add_metadata_props();
  alpha->set_key("ocrcore.alphabet");
  alpha->set_value(nlohmann::json(model.alphabet()).dump());
  auto* prep = m.add_metadata_props();
  prep->set_key(detail::kPreprocessingKey);
  prep->set_value(detail::preprocessing_to_json(model.preprocessing()));
}

// A model of opset `opset` (the default domain) with an empty graph.
onnx::ModelProto new_model(int opset) {
  if (opset < 13) throw Error("ONNX export needs opset 13 or later");
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.set_producer_name("ocrcore");
  m.set_model_version(kModelFormatVersion);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  return m;
}

// Log-softmax over classes of `scores` [T, N, classes] as the output, the
// input and output declarations, the metadata; then the file, atomically.
void finish_and_write(onnx::ModelProto& m, const Model& model, const std::string& scores,
                      const std::filesystem::path& path) {
  onnx::GraphProto* g = m.mutable_graph();
  GraphBuilder b(g);
  auto* lsm = b.node("LogSoftmax", "/log_softmax/LogSoftmax", {scores});
  GraphBuilder::integer(lsm, "axis", 2);
  lsm->set_output(0, "log_probs");
  add_input_output(g, model);
  add_metadata(m, model);
  std::string bytes;
  if (!m.SerializeToString(&bytes)) throw Error("ONNX export: serialisation failed");
  write_file_atomic(path, bytes);
}

}  // namespace

const Tensor& LayerExport::tensor(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw Error("export: model has no tensor " + name);
  return it->second;
}

void LayerExport::conv(const std::string& name, int kh, int kw, int sh, int sw, int ph, int pw,
                       bool bias, int groups) {
  const Tensor& w = tensor(name + ".weight");
  graph.float_tensor(name + ".weight", w.shape, w.data);
  std::vector<std::string> inputs = {current, name + ".weight"};
  if (bias) {
    const Tensor& bt = tensor(name + ".bias");
    graph.float_tensor(name + ".bias", bt.shape, bt.data);
    inputs.push_back(name + ".bias");
  }
  auto* n = graph.node("Conv", "/" + name + "/Conv", inputs);
  GraphBuilder::ints(n, "kernel_shape", {kh, kw});
  GraphBuilder::ints(n, "strides", {sh, sw});
  GraphBuilder::ints(n, "pads", {ph, pw, ph, pw});
  GraphBuilder::ints(n, "dilations", {1, 1});
  GraphBuilder::integer(n, "group", groups);
  current = n->output(0);
}

void export_onnx(const Model& model, const std::filesystem::path& path, int opset) {
  const Architecture& arch = model.architecture();
  const TensorMap& tensors = model.tensors();
  onnx::ModelProto m = new_model(opset);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("ocrcore");
  GraphBuilder b(g);

  std::string cur = "image";
  b.int_tensor("ocrcore.merge_last_two", {0, 0, -1});
  int index = 0;
  const OnnxLayerRegistry& layers = onnx_layers();
  for (const LayerSpec& layer : arch.layers) {
    LayerExport e{b, tensors, cur, std::to_string(index++)};
    layers.exporter(layer)(layer, e);
    cur = e.current;
  }
  finish_and_write(m, model, cur, path);
}

namespace {

// The int8 graph, built from the compiled network (batch norm folded, ReLUs
// fused), op by op.
class Int8GraphWriter {
 public:
  Int8GraphWriter(onnx::GraphProto* g, const detail::CompiledNetwork& net,
                  std::vector<float> largest_inputs)
      : b_(g), net_(net), largest_(std::move(largest_inputs)) {
    b_.int_tensor("ocrcore.merge_last_two", {0, 0, -1});
  }

  std::string run() {
    const std::vector<bool> int8 = detail::int8_convolutions(net_);
    for (std::size_t i = 0; i < net_.ops.size(); ++i) {
      const std::string id = std::to_string(i);
      const detail::Op& op = *net_.ops[i];
      // Only a max pool keeps its input's quantisation for an int8
      // convolution to take over.
      if (!detail::op_as<detail::PoolOp>(op) && !int8[i]) scale_ = 0;
      const bool exported =
          detail::visit_ops<detail::ConvOp, detail::TuckerOp, detail::PoolOp, detail::ReluOp,
                            detail::CollapseOp, detail::LstmOp, detail::LinearOp>(
              op, detail::Overloaded{
                      [&](const detail::ConvOp& c) {
                        if (int8[i])
                          int8_conv(c, "conv" + id, i);
                        else
                          float_conv(c, "conv" + id);
                      },
                      [&](const detail::TuckerOp& t) {
                        if (t.has_in) float_conv(t.in, "tucker" + id + ".in");
                        float_conv(t.core, "tucker" + id + ".core");
                        float_conv(t.out, "tucker" + id + ".out");
                      },
                      [&](const detail::PoolOp& p) {
                        auto* n = b_.node("MaxPool", "/pool" + id + "/MaxPool", {cur_});
                        GraphBuilder::ints(n, "kernel_shape", {p.kernel_h, p.kernel_w});
                        GraphBuilder::ints(n, "strides", {p.stride_h, p.stride_w});
                        GraphBuilder::ints(n, "pads", {p.pad_h, p.pad_w, p.pad_h, p.pad_w});
                        GraphBuilder::integer(n, "ceil_mode", p.ceil_mode ? 1 : 0);
                        cur_ = n->output(0);
                      },
                      [&](const detail::ReluOp&) { relu("relu" + id); },
                      [&](const detail::CollapseOp&) {
                        auto* tr = b_.node("Transpose", "/collapse" + id + "/Transpose", {cur_});
                        GraphBuilder::ints(tr, "perm", {3, 0, 1, 2});
                        cur_ = b_.node("Reshape", "/collapse" + id + "/Reshape",
                                       {tr->output(0), "ocrcore.merge_last_two"})
                                   ->output(0);
                      },
                      [&](const detail::LstmOp& l) { lstm(l, "lstm" + id); },
                      [&](const detail::LinearOp& lin) { linear(lin, "linear" + id); }});
      if (!exported)
        throw Error(op.describe() + " has no int8 ONNX export", ErrorKind::unsupported);
    }
    return cur_;
  }

 private:
  void relu(const std::string& name) {
    cur_ = b_.node("Relu", "/" + name + "/Relu", {cur_})->output(0);
  }

  void conv_node(const detail::ConvOp& c, const std::string& name, const std::string& weight,
                 const std::string& bias) {
    auto* n = b_.node("Conv", "/" + name + "/Conv", {cur_, weight, bias});
    GraphBuilder::ints(n, "kernel_shape", {c.kernel_h, c.kernel_w});
    GraphBuilder::ints(n, "strides", {c.stride_h, c.stride_w});
    GraphBuilder::ints(n, "pads", {c.pad_h, c.pad_w, c.pad_h, c.pad_w});
    GraphBuilder::ints(n, "dilations", {1, 1});
    GraphBuilder::integer(n, "group", c.groups);
    cur_ = n->output(0);
    if (c.relu) relu(name);
  }

  std::vector<std::int64_t> conv_dims(const detail::ConvOp& c) const {
    return {c.out_channels, c.in_channels / c.groups, c.kernel_h, c.kernel_w};
  }

  void float_conv(const detail::ConvOp& c, const std::string& name) {
    b_.float_tensor(name + ".weight", conv_dims(c), c.weight);
    std::vector<float> bias = c.bias;
    bias.resize(static_cast<std::size_t>(c.out_channels), 0.0f);
    b_.float_tensor(name + ".bias", {c.out_channels}, bias);
    conv_node(c, name, name + ".weight", name + ".bias");
  }

  // uint8 activations with zero point 0 (the tensor is a ReLU's output):
  // scale = largest / 255, as ocrcore's int8 convolutions quantise a line's
  // input, but calibrated once for all lines.
  float quantize_dequantize(const std::string& name, float largest) {
    return quantize_dequantize_on(name, 1.0f / detail::int8_input_scale(largest));
  }
  float quantize_dequantize_on(const std::string& name, float scale) {
    b_.float_tensor(name + ".x_scale", {}, {scale});
    b_.typed_tensor<std::uint8_t>(name + ".x_zero_point", onnx::TensorProto::UINT8, {}, {0});
    auto* q = b_.node("QuantizeLinear", "/" + name + "/QuantizeLinear",
                      {cur_, name + ".x_scale", name + ".x_zero_point"});
    cur_ = b_.node("DequantizeLinear", "/" + name + "/DequantizeLinear",
                   {q->output(0), name + ".x_scale", name + ".x_zero_point"})
               ->output(0);
    scale_ = scale;
    return scale;
  }

  // Weights per output channel as ocrcore quantises them (quantize_rows);
  // the bias as int32 on the scale input x weight, as QLinearConv takes it.
  void int8_conv(const detail::ConvOp& c, const std::string& name, std::size_t op) {
    // After a quantised output and max pools, the same scale (ONNX Runtime
    // then pools in uint8).
    const float x_scale = scale_ > 0 ? quantize_dequantize_on(name + ".input", scale_)
                                     : quantize_dequantize(name + ".input", largest_[op]);
    const detail::Int8Rows w = c.int8_weights();
    const std::int64_t O = c.out_channels;
    b_.typed_tensor<std::int8_t>(name + ".weight_quantized", onnx::TensorProto::INT8, conv_dims(c),
                                 w.values);
    b_.float_tensor(name + ".weight_scale", {O}, w.scale);
    b_.typed_tensor<std::int8_t>(name + ".weight_zero_point", onnx::TensorProto::INT8, {O},
                                 std::vector<std::int8_t>(static_cast<std::size_t>(O), 0));
    auto* wdq =
        b_.node("DequantizeLinear", "/" + name + "/weight/DequantizeLinear",
                {name + ".weight_quantized", name + ".weight_scale", name + ".weight_zero_point"});
    GraphBuilder::integer(wdq, "axis", 0);
    std::vector<std::int32_t> bias_q(static_cast<std::size_t>(O), 0);
    std::vector<float> bias_scale(static_cast<std::size_t>(O));
    for (std::size_t o = 0; o < bias_q.size(); ++o) {
      bias_scale[o] = x_scale * w.scale[o];
      const double v = o < c.bias.size() ? c.bias[o] / static_cast<double>(bias_scale[o]) : 0.0;
      bias_q[o] =
          static_cast<std::int32_t>(std::nearbyint(std::clamp(v, -2147483647.0, 2147483647.0)));
    }
    b_.typed_tensor<std::int32_t>(name + ".bias_quantized", onnx::TensorProto::INT32, {O}, bias_q);
    b_.float_tensor(name + ".bias_scale", {O}, bias_scale);
    b_.typed_tensor<std::int32_t>(name + ".bias_zero_point", onnx::TensorProto::INT32, {O},
                                  std::vector<std::int32_t>(bias_q.size(), 0));
    auto* bdq =
        b_.node("DequantizeLinear", "/" + name + "/bias/DequantizeLinear",
                {name + ".bias_quantized", name + ".bias_scale", name + ".bias_zero_point"});
    GraphBuilder::integer(bdq, "axis", 0);
    conv_node(c, name, wdq->output(0), bdq->output(0));
    scale_ = 0;
    // The output (a ReLU's, so uint8 fits) quantised on the range of what the
    // next op receives: ONNX Runtime fuses a convolution into QLinearConv only
    // when a QuantizeLinear follows it.
    if (c.relu && op + 1 < net_.ops.size()) quantize_dequantize(name + ".output", largest_[op + 1]);
  }

  // ONNX Runtime's DynamicQuantizeLSTM (com.microsoft): W and R int8 per
  // gate row (ocrcore's quantize_rows), transposed to [dirs, in, 4H]; the
  // inputs and the state are quantised per step by ONNX Runtime.
  void lstm(const detail::LstmOp& l, const std::string& name) {
    const int H = l.hidden_size, dirs = l.directions();
    for (int k = 0; k < l.num_layers; ++k) {
      const int in = l.layer_input(k);
      std::vector<std::int8_t> W, R;
      std::vector<float> w_scale, r_scale, B;
      for (int d = 0; d < dirs; ++d) {
        const detail::LstmDirection& dir =
            l.layers[static_cast<std::size_t>(k)][static_cast<std::size_t>(d)];
        auto transposed = [&](const std::vector<float>& m, int cols, std::vector<std::int8_t>& dst,
                              std::vector<float>& scale) {
          const detail::Int8Rows q = detail::quantize_rows(m, static_cast<std::size_t>(4 * H));
          std::vector<int> rows;  // ONNX row -> ocrcore row
          for (int g = 0; g < 4; ++g)
            for (int h = 0; h < H; ++h)
              rows.push_back(kTorchGateOfOnnxGate[g] * H + h);
          const std::size_t base = dst.size();
          dst.resize(base + static_cast<std::size_t>(cols) * 4 * H);
          for (int c = 0; c < cols; ++c)
            for (int r = 0; r < 4 * H; ++r)
              dst[base + static_cast<std::size_t>(c) * 4 * H + r] =
                  q.values[static_cast<std::size_t>(rows[r]) * cols + c];
          for (int r = 0; r < 4 * H; ++r)
            scale.push_back(q.scale[static_cast<std::size_t>(rows[r])]);
        };
        transposed(dir.w_ih, in, W, w_scale);
        transposed(dir.w_hh, H, R, r_scale);
        for (int g = 0; g < 4; ++g)
          for (int h = 0; h < H; ++h)
            B.push_back(dir.bias[static_cast<std::size_t>(kTorchGateOfOnnxGate[g] * H + h)]);
        B.insert(B.end(), static_cast<std::size_t>(4 * H), 0.0f);  // ocrcore sums both biases
      }
      const std::string p = name + ".l" + std::to_string(k);
      b_.typed_tensor<std::int8_t>(p + ".W", onnx::TensorProto::INT8, {dirs, in, 4 * H}, W);
      b_.typed_tensor<std::int8_t>(p + ".R", onnx::TensorProto::INT8, {dirs, H, 4 * H}, R);
      b_.float_tensor(p + ".B", {dirs, 8 * H}, B);
      b_.float_tensor(p + ".W_scale", {dirs, 4 * H}, w_scale);
      b_.float_tensor(p + ".R_scale", {dirs, 4 * H}, r_scale);
      b_.typed_tensor<std::int8_t>(
          p + ".zero_point", onnx::TensorProto::INT8, {dirs, 4 * H},
          std::vector<std::int8_t>(static_cast<std::size_t>(dirs) * 4 * H, 0));
      auto* n = b_.node("DynamicQuantizeLSTM", "/" + p + "/DynamicQuantizeLSTM",
                        {cur_, p + ".W", p + ".R", p + ".B", "", "", "", "", p + ".W_scale",
                         p + ".zero_point", p + ".R_scale", p + ".zero_point"});
      n->set_domain("com.microsoft");
      GraphBuilder::integer(n, "hidden_size", H);
      GraphBuilder::string(n, "direction", l.bidirectional ? "bidirectional" : "forward");
      auto* tr = b_.node("Transpose", "/" + p + "/Transpose", {n->output(0)});
      GraphBuilder::ints(tr, "perm", {0, 2, 1, 3});
      cur_ = b_.node("Reshape", "/" + p + "/Reshape", {tr->output(0), "ocrcore.merge_last_two"})
                 ->output(0);
    }
  }

  void linear(const detail::LinearOp& lin, const std::string& name) {
    std::vector<float> wt(lin.weight.size());
    for (int o = 0; o < lin.out_features; ++o)
      for (int i = 0; i < lin.in_features; ++i)
        wt[static_cast<std::size_t>(i) * lin.out_features + o] =
            lin.weight[static_cast<std::size_t>(o) * lin.in_features + i];
    b_.float_tensor(name + ".weight_t", {lin.in_features, lin.out_features}, wt);
    cur_ = b_.node("MatMul", "/" + name + "/MatMul", {cur_, name + ".weight_t"})->output(0);
    if (!lin.bias.empty()) {
      b_.float_tensor(name + ".bias", {lin.out_features}, lin.bias);
      cur_ = b_.node("Add", "/" + name + "/Add", {cur_, name + ".bias"})->output(0);
    }
    if (lin.relu) relu(name);
  }

  GraphBuilder b_;
  const detail::CompiledNetwork& net_;
  std::vector<float> largest_;
  std::string cur_ = "image";
  float scale_ = 0;  // cur_'s quantisation scale, 0 when it is not the output of a DequantizeLinear
};

}  // namespace

void export_onnx_int8(const Model& model, const std::filesystem::path& path,
                      std::span<const LineTensor> calibration, int threads, int opset) {
  if (calibration.empty())
    throw Error(
        "int8 ONNX export needs calibration lines (their activation ranges set the "
        "static scales)");
  const detail::CompiledNetwork& net = ModelAccess::network(model);
  onnx::ModelProto m = new_model(opset);
  auto* ms = m.add_opset_import();
  ms->set_domain("com.microsoft");
  ms->set_version(1);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("ocrcore-int8");
  Int8GraphWriter writer(g, net, detail::largest_op_inputs(net, calibration, threads));
  finish_and_write(m, model, writer.run(), path);
}

}  // namespace ocrcore::onnx_io
