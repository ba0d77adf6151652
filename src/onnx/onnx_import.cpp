// ONNX -> ocrcore. The importer follows the data path from the graph input to
// the output one node at a time, keeping track of what it carries (NCHW
// feature maps or T x N x D frames), and asks the layer kinds' importers
// (layer_onnx.hpp) which one maps each node; a kind whose layer spans several
// nodes (a collapse: Transpose + Reshape; an LSTM and the reshaping of its
// output) takes them all. Nodes off that path (Shape, Gather, Concat, ...
// computing reshape targets and LSTM initial states) are only checked where
// their values matter (zero initial states).

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "ocrcore/error.hpp"
#include "onnx/layer_onnx.hpp"
#include "onnx/onnx_model.hpp"
#include "runtime/core/preprocessing_json.hpp"
#include "runtime/graph/shapes.hpp"

namespace ocrcore::onnx_io {

using onnx::NodeProto;
using onnx::TensorProto;

namespace {

ConstantTensor decode_tensor(const TensorProto& t, const std::string& what) {
  ConstantTensor c;
  c.shape.assign(t.dims().begin(), t.dims().end());
  // The element count is checked against the data the file holds before
  // anything is allocated: a graph from elsewhere may claim any shape.
  constexpr std::size_t kMaxElements = std::size_t{1} << 40;
  std::size_t n = 1;
  for (auto d : c.shape) {
    if (d < 0)
      throw Error(what + ": tensor " + t.name() + " has a negative dimension " + std::to_string(d));
    if (d != 0 && n > kMaxElements / static_cast<std::size_t>(d))
      throw Error(what + ": tensor " + t.name() + " claims more than 2^40 values");
    n *= static_cast<std::size_t>(d);
  }
  if (t.data_location() == TensorProto::EXTERNAL)
    throw Error(what + ": tensor " + t.name() + " is stored in an external file (not supported)");
  auto check_raw_size = [&](std::size_t element_size) {
    if (t.raw_data().size() != n * element_size)
      throw Error(what + ": tensor " + t.name() + " has " + std::to_string(t.raw_data().size()) +
                  " bytes of data for " + std::to_string(n) + " values of " +
                  std::to_string(element_size) + " bytes (wrong data size)");
  };
  switch (t.data_type()) {
    case TensorProto::FLOAT:
      if (t.has_raw_data()) {
        check_raw_size(4);
        c.floats.resize(n);
        std::memcpy(c.floats.data(), t.raw_data().data(), n * 4);
      } else {
        c.floats.assign(t.float_data().begin(), t.float_data().end());
      }
      break;
    case TensorProto::INT64:
      c.is_float = false;
      if (t.has_raw_data()) {
        check_raw_size(8);
        c.ints.resize(n);
        std::memcpy(c.ints.data(), t.raw_data().data(), n * 8);
      } else {
        c.ints.assign(t.int64_data().begin(), t.int64_data().end());
      }
      break;
    case TensorProto::INT32:
      c.is_float = false;
      if (t.has_raw_data()) {
        check_raw_size(4);
        c.ints.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
          std::int32_t v;
          std::memcpy(&v, t.raw_data().data() + 4 * i, 4);
          c.ints[i] = v;
        }
      } else {
        c.ints.assign(t.int32_data().begin(), t.int32_data().end());
      }
      break;
    default:
      throw Error(what + ": tensor " + t.name() + " has data type " +
                  std::to_string(t.data_type()) + " (float, int64 and int32 are supported)");
  }
  if ((c.is_float ? c.floats.size() : c.ints.size()) != n)
    throw Error(what + ": tensor " + t.name() + " has " +
                std::to_string(c.is_float ? c.floats.size() : c.ints.size()) +
                " values for its shape");
  return c;
}

}  // namespace

std::string describe(const NodeProto& n) {
  return "node '" + (n.name().empty() ? std::string("(unnamed)") : n.name()) + "' (" + n.op_type() +
         ")";
}

const onnx::AttributeProto* find_attribute(const NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

std::vector<std::int64_t> ints_attribute(const NodeProto& n, const std::string& name,
                                         std::vector<std::int64_t> fallback) {
  const auto* a = find_attribute(n, name);
  if (!a) return fallback;
  return {a->ints().begin(), a->ints().end()};
}

std::int64_t int_attribute(const NodeProto& n, const std::string& name, std::int64_t fallback) {
  const auto* a = find_attribute(n, name);
  return a ? a->i() : fallback;
}

// A layer name from the node's module path ("/cnn.0/Conv" -> "cnn.0",
// "/rnn/lstm/LSTM_1" -> "rnn.lstm"), else `fallback`.
std::string layer_name(const NodeProto& n, const std::string& fallback) {
  const std::string& s = n.name();
  if (s.size() > 1 && s[0] == '/') {
    const auto last = s.rfind('/');
    if (last > 1) {
      std::string path = s.substr(1, last - 1);
      for (char& ch : path)
        if (ch == '/') ch = '.';
      return path;
    }
  }
  return fallback;
}

OnnxGraph::OnnxGraph(const onnx::ModelProto& model, std::string source)
    : m_(model), source_(std::move(source)) {
  const auto& g = m_.graph();
  for (const auto& t : g.initializer())
    constants_.emplace(t.name(), decode_tensor(t, source_));
  for (const auto& n : g.node()) {
    // Inputs and outputs are read by position: a node with fewer than its
    // operator needs is refused here, once.
    static const std::map<std::string, int> kMinimumInputs = {
        {"Constant", 0}, {"Conv", 2},   {"BatchNormalization", 5},
        {"LSTM", 3},     {"MatMul", 2}, {"Gemm", 2},
        {"Add", 2},      {"Mul", 2}};
    const auto need = kMinimumInputs.find(n.op_type());
    const int inputs = need == kMinimumInputs.end() ? 1 : need->second;
    if (n.input_size() < inputs)
      throw Error(source_ + ": " + describe(n) + " has " + std::to_string(n.input_size()) +
                  " inputs, needs at least " + std::to_string(inputs));
    if (n.output_size() < 1) throw Error(source_ + ": " + describe(n) + " has no output");
    for (const auto& out : n.output())
      if (!out.empty()) producer_[out] = &n;
    for (const auto& in : n.input())
      if (!in.empty()) consumers_[in].push_back(&n);
    if (n.op_type() == "Constant") {
      const auto* v = find_attribute(n, "value");
      if (!v || !v->has_t()) throw Error(source_ + ": " + describe(n) + " has no tensor value");
      constants_.emplace(n.output(0), decode_tensor(v->t(), source_));
    }
  }
}

const ConstantTensor& OnnxGraph::constant(const std::string& name, const NodeProto& n) const {
  auto it = constants_.find(name);
  if (it == constants_.end())
    throw Error(source_ + ": " + describe(n) + ": input '" + name +
                "' must be a constant (initialiser)");
  return it->second;
}

void OnnxGraph::fail(const NodeProto& n, const std::string& why) const {
  throw Error(source_ + ": " + describe(n) + ": " + why);
}

const NodeProto* OnnxGraph::next_node(const std::string& value) const {
  auto it = consumers_.find(value);
  std::vector<const NodeProto*> users;
  if (it != consumers_.end())
    for (const NodeProto* n : it->second)
      if (n->op_type() != "Shape") users.push_back(n);
  if (users.empty()) return nullptr;
  if (users.size() > 1) {
    std::string names;
    for (const NodeProto* n : users)
      names += " " + describe(*n);
    throw Error(source_ + ": tensor '" + value + "' feeds several nodes (" + names +
                " ): only a single chain of layers can be mapped");
  }
  return users[0];
}

void OnnxGraph::require_zero(const std::string& name, const NodeProto& lstm,
                             const char* what) const {
  if (name.empty()) return;
  std::string cur = name;
  for (int depth = 0; depth < 32; ++depth) {
    if (auto c = constants_.find(cur); c != constants_.end()) {
      for (float v : c->second.floats)
        if (v != 0.0f)
          fail(lstm, std::string(what) + " is not zero (only zero initial states are supported)");
      for (auto v : c->second.ints)
        if (v != 0)
          fail(lstm, std::string(what) + " is not zero (only zero initial states are supported)");
      return;
    }
    auto p = producer_.find(cur);
    if (p == producer_.end())
      fail(lstm, std::string(what) +
                     " comes from a graph input (only zero initial states are supported)");
    const NodeProto& n = *p->second;
    if (n.op_type() == "ConstantOfShape") {
      const auto* v = find_attribute(n, "value");
      if (v && v->has_t()) {
        const ConstantTensor c = decode_tensor(v->t(), source_);
        for (float x : c.floats)
          if (x != 0.0f) fail(lstm, std::string(what) + " is filled with a non-zero value");
      }
      return;
    }
    static const std::set<std::string> passthrough = {"Slice",   "Expand",   "Reshape", "Unsqueeze",
                                                      "Squeeze", "Identity", "Cast",    "Tile"};
    if (!passthrough.count(n.op_type()))
      fail(lstm, std::string(what) + " is computed by " + describe(n) +
                     " (only zero initial states are supported)");
    cur = n.input(0);
  }
  fail(lstm, std::string(what) + ": cannot follow its computation");
}

std::vector<int> OnnxGraph::geometry(const NodeProto& n, const std::string& name,
                                     std::vector<std::int64_t> fallback, std::size_t count,
                                     int lowest) const {
  const auto values = ints_attribute(n, name, std::move(fallback));
  if (values.size() != count)
    fail(n, name + " must have " + std::to_string(count) + " values, has " +
                std::to_string(values.size()));
  std::vector<int> out;
  for (auto v : values) {
    if (v < lowest || v > kMaxGeometry)
      fail(n, name + " value " + std::to_string(v) + " is out of range [" + std::to_string(lowest) +
                  ", " + std::to_string(kMaxGeometry) + "]");
    out.push_back(static_cast<int>(v));
  }
  return out;
}

const NodeProto& LayerImport::successor(const std::string& value,
                                        const std::string& expected) const {
  const NodeProto* n = graph.next_node(value);
  if (!n) fail("the graph ends here; " + expected);
  if (n->input(0) != value) graph.fail(*n, "the data arrives on another input; " + expected);
  return *n;
}

OnnxConv LayerImport::conv() {
  const NodeProto& n = node;
  OnnxConv c;
  const auto groups = int_attribute(n, "group", 1);
  if (groups < 1 || groups > OnnxGraph::kMaxGeometry)
    fail("group " + std::to_string(groups) + " is out of range");
  c.groups = static_cast<int>(groups);
  for (auto d : ints_attribute(n, "dilations", {1, 1}))
    if (d != 1) fail("dilated convolution is not supported");
  if (const auto* a = find_attribute(n, "auto_pad"); a && a->s() != "NOTSET")
    fail("auto_pad " + a->s() + " is not supported (explicit pads only)");
  const auto& w = graph.constant(n.input(1), n);
  if (w.shape.size() != 4) fail("weights must be 4-D");
  for (auto d : w.shape)
    if (d < 1 || d > OnnxGraph::kMaxGeometry)
      fail("weight dimension " + std::to_string(d) + " is out of range");
  const auto pads = graph.geometry(n, "pads", {0, 0, 0, 0}, 4, 0);
  if (pads[0] != pads[2] || pads[1] != pads[3]) fail("asymmetric padding is not supported");
  const auto strides = graph.geometry(n, "strides", {1, 1}, 2, 1);
  // Grouped: the weights hold in_channels / group inputs per output.
  c.in_channels = static_cast<int>(w.shape[1] * groups);
  c.out_channels = static_cast<int>(w.shape[0]);
  if (c.out_channels % c.groups != 0)
    fail(std::to_string(c.out_channels) + " output channels do not divide into " +
         std::to_string(c.groups) + " groups");
  c.kernel_h = static_cast<int>(w.shape[2]);
  c.kernel_w = static_cast<int>(w.shape[3]);
  c.stride_h = strides[0], c.stride_w = strides[1];
  c.pad_h = pads[0], c.pad_w = pads[1];
  if (c.in_channels != channels)
    fail("expects " + std::to_string(c.in_channels) + " input channels, gets " +
         std::to_string(channels));
  c.bias = n.input_size() > 2 && !n.input(2).empty();
  c.weight = Tensor(w.shape);
  c.weight.data = w.floats;
  if (c.bias) {
    c.bias_tensor = Tensor({c.out_channels});
    c.bias_tensor.data = graph.constant(n.input(2), n).floats;
    if (static_cast<int>(c.bias_tensor.data.size()) != c.out_channels)
      fail("bias size differs from the output channels");
  }
  channels = c.out_channels;
  height = detail::conv_out(height, c.kernel_h, c.stride_h, c.pad_h);
  return c;
}

namespace {

// Follows the data path from the graph input to its output one node at a
// time; the kinds' importers map the nodes.
class Importer {
 public:
  Importer(const onnx::ModelProto& model, std::string source) : graph_(model, std::move(source)) {}

  ImportedModel run() {
    const auto& g = graph_.model().graph();
    const std::string& source = graph_.source();
    // The data input: the graph input that is not an initialiser.
    std::vector<const onnx::ValueInfoProto*> inputs;
    for (const auto& i : g.input())
      if (!graph_.is_constant(i.name())) inputs.push_back(&i);
    if (inputs.size() != 1)
      throw Error(source + ": expected one image input, the graph has " +
                  std::to_string(inputs.size()));
    const auto& in = *inputs[0];
    const auto& shape = in.type().tensor_type().shape();
    if (shape.dim_size() != 4)
      throw Error(source + ": input '" + in.name() + "' must be N x C x H x W, it has " +
                  std::to_string(shape.dim_size()) + " dimensions");
    if (!shape.dim(1).has_dim_value() || !shape.dim(2).has_dim_value())
      throw Error(
          source + ": input '" + in.name() +
          "' must have a fixed channel count and height (only batch and width may be dynamic)");
    for (int d : {1, 2})
      if (shape.dim(d).dim_value() < 1 || shape.dim(d).dim_value() > (1 << 16))
        throw Error(source + ": input '" + in.name() + "' has " +
                    (d == 1 ? "channel count " : "height ") +
                    std::to_string(shape.dim(d).dim_value()) + " (1 to 65536 supported)");
    ImportedModel out;
    out.architecture.input_channels = static_cast<int>(shape.dim(1).dim_value());
    out.architecture.input_height = static_cast<int>(shape.dim(2).dim_value());
    out.preprocessing.height = out.architecture.input_height;
    walk(in.name(), out);
    for (const auto& p : graph_.model().metadata_props()) {
      if (p.key() == "ocrcore.alphabet")
        out.alphabet = nlohmann::json::parse(p.value()).get<std::vector<std::string>>();
      if (p.key() == detail::kPreprocessingKey) {
        // The graph's input shape decides the height, whatever the exporter wrote.
        auto j = nlohmann::json::parse(p.value(), nullptr, false);
        if (j.is_object()) j["height"] = out.architecture.input_height;
        out.preprocessing =
            detail::preprocessing_from_json(j.dump(), out.architecture.input_height);
      }
    }
    try {
      out.architecture.validate();
    } catch (const Error& e) {
      throw Error(source + ": the mapped network is not valid: " + e.what());
    }
    return out;
  }

 private:
  void walk(const std::string& input, ImportedModel& out) {
    const OnnxLayerRegistry& registry = onnx_layers();
    Carrier carrier = Carrier::maps;
    int channels = out.architecture.input_channels, height = out.architecture.input_height;
    int features = 0;
    bool done = false;  // past the final (log-)softmax
    std::string cur = input;
    int index = 0;
    while (const NodeProto* np = graph_.next_node(cur)) {
      const NodeProto& n = *np;
      const std::string& op = n.op_type();
      if (done) graph_.fail(n, "nothing may follow the final (log-)softmax");
      if (n.input(0) != cur && !(op == "MatMul" || op == "Add" || op == "Mul"))
        graph_.fail(n,
                    "the feature map arrives on input '" + cur + "', not as the node's data input");
      const std::string fallback = "layer" + std::to_string(index++);
      if (op == "Identity") {
        cur = n.output(0);
        continue;
      }
      // The network's last layer: every model ends in a log-softmax over classes.
      if (carrier == Carrier::frames && (op == "LogSoftmax" || op == "Softmax")) {
        const auto axis = int_attribute(n, "axis", -1);
        if (axis != -1 && axis != 2) graph_.fail(n, "must normalise over the class axis (2 or -1)");
        done = true;
        cur = n.output(0);
        continue;
      }
      LayerImport l{graph_,  n,        cur,    out,      n.output(0),
                    carrier, channels, height, features, fallback};
      bool taken = false;
      for (const auto& importer : registry.importers())
        if (importer.op_type == op && importer.carrier == carrier && importer.import(l)) {
          taken = true;
          break;
        }
      if (!taken) {
        std::set<std::string_view> ops;
        for (const auto& importer : registry.importers())
          if (importer.carrier == carrier) ops.insert(importer.op_type);
        std::string list;
        for (auto o : ops)
          list += (list.empty() ? "" : ", ") + std::string(o);
        graph_.fail(n, std::string("not supported on ") +
                           (carrier == Carrier::maps ? "feature maps" : "frame sequences") + " (" +
                           list + (carrier == Carrier::frames ? ", LogSoftmax" : "") + ")");
      }
      carrier = l.carrier;
      channels = l.channels, height = l.height, features = l.features;
      cur = l.next;
    }
    if (!done && carrier != Carrier::frames)
      throw Error(graph_.source() + ": the graph ends before producing per-frame class scores");
    for (auto regroup : registry.regroups())
      regroup(out);
    bool found = false;
    for (const auto& o : graph_.model().graph().output())
      found = found || o.name() == cur;
    if (!found)
      throw Error(graph_.source() + ": the data path ends at '" + cur +
                  "', which is not a graph output");
  }

  OnnxGraph graph_;
};

}  // namespace

ImportedModel import_onnx_bytes(std::string_view bytes, const std::string& source) {
  onnx::ModelProto model;
  google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(std::numeric_limits<int>::max());
  if (!model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage())
    throw Error(source + ": not a valid ONNX model (protobuf parse failed: truncated or not ONNX)");
  if (!model.has_graph() || model.graph().node_size() == 0)
    throw Error(source + ": the ONNX model has no graph");
  return Importer(model, source).run();
}

ImportedModel import_onnx(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return import_onnx_bytes(s.str(), path.string());
}

}  // namespace ocrcore::onnx_io
