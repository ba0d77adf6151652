// ocrcore -> ONNX, layer by layer, with names the importer maps back (see
// onnx_import.cpp) so that import(export(m)) gives m.

#include <onnx/onnx_pb.h>

#include <nlohmann/json.hpp>

#include "core/file_io.hpp"
#include "core/preprocessing_json.hpp"
#include "ocrcore/error.hpp"
#include "onnx/onnx_model.hpp"

namespace ocrcore::onnx_io {

namespace {

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

const Tensor& get(const TensorMap& t, const std::string& name) {
  auto it = t.find(name);
  if (it == t.end()) throw Error("export: model has no tensor " + name);
  return it->second;
}

}  // namespace

void export_onnx(const Model& model, const std::filesystem::path& path, int opset) {
  if (opset < 13) throw Error("ONNX export needs opset 13 or later");
  const Architecture& arch = model.architecture();
  const TensorMap& tensors = model.tensors();
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.set_producer_name("ocrcore");
  m.set_model_version(kModelFormatVersion);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("ocrcore");
  GraphBuilder b(g);

  {
    auto* in = g->add_input();
    in->set_name("image");
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = tt->mutable_shape();
    shape->add_dim()->set_dim_param("batch");
    shape->add_dim()->set_dim_value(arch.input_channels);
    shape->add_dim()->set_dim_value(arch.input_height);
    shape->add_dim()->set_dim_param("width");
  }
  std::string cur = "image";
  b.int_tensor("ocrcore.merge_last_two", {0, 0, -1});
  int index = 0;
  auto conv = [&](const std::string& name, int kh, int kw, int sh, int sw, int ph, int pw,
                  bool bias) {
    const Tensor& w = get(tensors, name + ".weight");
    b.float_tensor(name + ".weight", w.shape, w.data);
    std::vector<std::string> inputs = {cur, name + ".weight"};
    if (bias) {
      const Tensor& bt = get(tensors, name + ".bias");
      b.float_tensor(name + ".bias", bt.shape, bt.data);
      inputs.push_back(name + ".bias");
    }
    auto* n = b.node("Conv", "/" + name + "/Conv", inputs);
    GraphBuilder::ints(n, "kernel_shape", {kh, kw});
    GraphBuilder::ints(n, "strides", {sh, sw});
    GraphBuilder::ints(n, "pads", {ph, pw, ph, pw});
    GraphBuilder::ints(n, "dilations", {1, 1});
    GraphBuilder::integer(n, "group", 1);
    cur = n->output(0);
  };
  for (const LayerSpec& layer : arch.layers) {
    const std::string anon = std::to_string(index++);
    if (auto* c = std::get_if<Conv2dSpec>(&layer)) {
      conv(c->name, c->kernel_h, c->kernel_w, c->stride_h, c->stride_w, c->pad_h, c->pad_w,
           c->bias);
    } else if (auto* t = std::get_if<TuckerConvSpec>(&layer)) {
      if (t->rank_in > 0) conv(t->name + ".in", 1, 1, 1, 1, 0, 0, false);
      conv(t->name + ".core", t->kernel_h, t->kernel_w, t->stride_h, t->stride_w, t->pad_h,
           t->pad_w, false);
      conv(t->name + ".out", 1, 1, 1, 1, 0, 0, t->bias);
    } else if (auto* bn = std::get_if<BatchNormSpec>(&layer)) {
      std::vector<std::string> inputs = {cur};
      for (const char* suffix : {".weight", ".bias", ".running_mean", ".running_var"}) {
        const Tensor& x = get(tensors, bn->name + suffix);
        b.float_tensor(bn->name + suffix, x.shape, x.data);
        inputs.push_back(bn->name + suffix);
      }
      auto* n = b.node("BatchNormalization", "/" + bn->name + "/BatchNormalization", inputs);
      GraphBuilder::real(n, "epsilon", bn->eps);
      cur = n->output(0);
    } else if (std::holds_alternative<ReluSpec>(layer)) {
      cur = b.node("Relu", "/relu" + anon + "/Relu", {cur})->output(0);
    } else if (auto* p = std::get_if<MaxPoolSpec>(&layer)) {
      auto* n = b.node("MaxPool", "/pool" + anon + "/MaxPool", {cur});
      GraphBuilder::ints(n, "kernel_shape", {p->kernel_h, p->kernel_w});
      GraphBuilder::ints(n, "strides", {p->stride_h, p->stride_w});
      GraphBuilder::ints(n, "pads", {p->pad_h, p->pad_w, p->pad_h, p->pad_w});
      GraphBuilder::integer(n, "ceil_mode", p->ceil_mode ? 1 : 0);
      cur = n->output(0);
    } else if (auto* d = std::get_if<DropoutSpec>(&layer)) {
      const std::string ratio = "dropout" + anon + ".ratio";
      b.float_tensor(ratio, {}, {d->p});
      cur = b.node("Dropout", "/dropout" + anon + "/Dropout", {cur, ratio})->output(0);
    } else if (std::holds_alternative<CollapseSpec>(layer)) {
      auto* tr = b.node("Transpose", "/collapse" + anon + "/Transpose", {cur});
      GraphBuilder::ints(tr, "perm", {3, 0, 1, 2});
      cur = b.node("Reshape", "/collapse" + anon + "/Reshape",
                   {tr->output(0), "ocrcore.merge_last_two"})
                ->output(0);
    } else if (auto* l = std::get_if<LstmSpec>(&layer)) {
      const int H = l->hidden_size, dirs = l->bidirectional ? 2 : 1;
      // PyTorch gate order i, f, g, o -> ONNX i, o, f, c.
      const int torch_block[4] = {0, 3, 1, 2};
      for (int k = 0; k < l->num_layers; ++k) {
        const int in = k == 0 ? l->input_size : H * dirs;
        std::vector<float> W, R, B;
        for (int dir = 0; dir < dirs; ++dir) {
          const LstmTensorNames names = l->tensor_names(k, dir);
          const Tensor& wih = get(tensors, names.weight_ih);
          const Tensor& whh = get(tensors, names.weight_hh);
          const Tensor& bih = get(tensors, names.bias_ih);
          const Tensor& bhh = get(tensors, names.bias_hh);
          auto append = [&](std::vector<float>& dst, const std::vector<float>& src, int cols) {
            for (int gi = 0; gi < 4; ++gi) {
              const auto begin =
                  src.begin() + static_cast<std::ptrdiff_t>(torch_block[gi]) * H * cols;
              dst.insert(dst.end(), begin, begin + static_cast<std::ptrdiff_t>(H) * cols);
            }
          };
          append(W, wih.data, in);
          append(R, whh.data, H);
          append(B, bih.data, 1);
          append(B, bhh.data, 1);
        }
        const std::string prefix = l->name + ".onnx_l" + std::to_string(k);
        b.float_tensor(prefix + ".W", {dirs, 4 * H, in}, W);
        b.float_tensor(prefix + ".R", {dirs, 4 * H, H}, R);
        b.float_tensor(prefix + ".B", {dirs, 8 * H}, B);
        auto* n = b.node("LSTM", "/" + l->name + "/LSTM" + (k ? "_" + std::to_string(k) : ""),
                         {cur, prefix + ".W", prefix + ".R", prefix + ".B"});
        GraphBuilder::integer(n, "hidden_size", H);
        GraphBuilder::string(n, "direction", l->bidirectional ? "bidirectional" : "forward");
        if (l->bidirectional) {
          auto* tr =
              b.node("Transpose", "/" + l->name + "/Transpose" + std::to_string(k), {n->output(0)});
          GraphBuilder::ints(tr, "perm", {0, 2, 1, 3});
          cur = b.node("Reshape", "/" + l->name + "/Reshape" + std::to_string(k),
                       {tr->output(0), "ocrcore.merge_last_two"})
                    ->output(0);
        } else {
          const std::string axes = prefix + ".squeeze_axes";
          b.int_tensor(axes, {1});
          cur = b.node("Squeeze", "/" + l->name + "/Squeeze" + std::to_string(k),
                       {n->output(0), axes})
                    ->output(0);
        }
      }
    } else if (auto* lin = std::get_if<LinearSpec>(&layer)) {
      const Tensor& w = get(tensors, lin->name + ".weight");
      std::vector<float> wt(w.data.size());
      for (int o = 0; o < lin->out_features; ++o)
        for (int i = 0; i < lin->in_features; ++i)
          wt[static_cast<std::size_t>(i) * lin->out_features + o] =
              w.data[static_cast<std::size_t>(o) * lin->in_features + i];
      b.float_tensor(lin->name + ".weight_t", {lin->in_features, lin->out_features}, wt);
      cur =
          b.node("MatMul", "/" + lin->name + "/MatMul", {cur, lin->name + ".weight_t"})->output(0);
      if (lin->bias) {
        const Tensor& bt = get(tensors, lin->name + ".bias");
        b.float_tensor(lin->name + ".bias", bt.shape, bt.data);
        cur = b.node("Add", "/" + lin->name + "/Add", {cur, lin->name + ".bias"})->output(0);
      }
    }
  }
  auto* lsm = b.node("LogSoftmax", "/log_softmax/LogSoftmax", {cur});
  GraphBuilder::integer(lsm, "axis", 2);
  lsm->set_output(0, "log_probs");
  {
    auto* out = g->add_output();
    out->set_name("log_probs");
    auto* tt = out->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = tt->mutable_shape();
    shape->add_dim()->set_dim_param("frames");
    shape->add_dim()->set_dim_param("batch");
    shape->add_dim()->set_dim_value(model.num_classes());
  }
  auto* alpha = m.add_metadata_props();
  alpha->set_key("ocrcore.alphabet");
  alpha->set_value(nlohmann::json(model.alphabet()).dump());
  auto* prep = m.add_metadata_props();
  prep->set_key(detail::kPreprocessingKey);
  prep->set_value(detail::preprocessing_to_json(model.preprocessing()));
  std::string bytes;
  if (!m.SerializeToString(&bytes)) throw Error("ONNX export: serialisation failed");
  write_file_atomic(path, bytes);
}

}  // namespace ocrcore::onnx_io
