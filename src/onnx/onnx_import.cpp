// ONNX -> ocrcore. The importer follows the data path from the graph input to
// the output one node at a time, keeping track of what the current tensor is
// (an NCHW feature map, the permuted map before a collapse, a T x N x D frame
// sequence, an LSTM's T x dirs x N x H output); nodes off that path (Shape,
// Gather, Concat, ... computing reshape targets and LSTM initial states) are
// only checked where their values matter (zero initial states).

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

#include "layers/batch_norm/batch_norm.hpp"
#include "layers/collapse/collapse.hpp"
#include "layers/conv2d/conv2d.hpp"
#include "layers/dropout/dropout.hpp"
#include "layers/grouped_conv/grouped_conv.hpp"
#include "layers/linear/linear.hpp"
#include "layers/lstm/lstm.hpp"
#include "layers/max_pool/max_pool.hpp"
#include "layers/relu/relu.hpp"
#include "layers/tucker_conv/tucker_conv.hpp"
#include "ocrcore/error.hpp"
#include "onnx/onnx_model.hpp"
#include "runtime/core/preprocessing_json.hpp"
#include "runtime/graph/shapes.hpp"

namespace ocrcore::onnx_io {

namespace {

using onnx::NodeProto;
using onnx::TensorProto;

// Values of constant tensors (initialisers and Constant nodes), converted to
// float or int64.
struct ConstantTensor {
  std::vector<std::int64_t> shape;
  std::vector<float> floats;
  std::vector<std::int64_t> ints;
  bool is_float = true;
};

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
                                         std::vector<std::int64_t> fallback = {}) {
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

class Importer {
 public:
  Importer(const onnx::ModelProto& model, std::string source)
      : m_(model), source_(std::move(source)) {
    const auto& g = m_.graph();
    for (const auto& t : g.initializer())
      constants_.emplace(t.name(), decode_tensor(t, source_));
    for (const auto& n : g.node()) {
      // Inputs and outputs are read by position below: a node with fewer than
      // its operator needs is refused here, once.
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

  ImportedModel run() {
    const auto& g = m_.graph();
    // The data input: the graph input that is not an initialiser.
    std::vector<const onnx::ValueInfoProto*> inputs;
    for (const auto& i : g.input())
      if (!constants_.count(i.name())) inputs.push_back(&i);
    if (inputs.size() != 1)
      throw Error(source_ + ": expected one image input, the graph has " +
                  std::to_string(inputs.size()));
    const auto& in = *inputs[0];
    const auto& shape = in.type().tensor_type().shape();
    if (shape.dim_size() != 4)
      throw Error(source_ + ": input '" + in.name() + "' must be N x C x H x W, it has " +
                  std::to_string(shape.dim_size()) + " dimensions");
    if (!shape.dim(1).has_dim_value() || !shape.dim(2).has_dim_value())
      throw Error(
          source_ + ": input '" + in.name() +
          "' must have a fixed channel count and height (only batch and width may be dynamic)");
    for (int d : {1, 2})
      if (shape.dim(d).dim_value() < 1 || shape.dim(d).dim_value() > (1 << 16))
        throw Error(source_ + ": input '" + in.name() + "' has " +
                    (d == 1 ? "channel count " : "height ") +
                    std::to_string(shape.dim(d).dim_value()) + " (1 to 65536 supported)");
    ImportedModel out;
    out.architecture.input_channels = static_cast<int>(shape.dim(1).dim_value());
    out.architecture.input_height = static_cast<int>(shape.dim(2).dim_value());
    out.preprocessing.height = out.architecture.input_height;
    channels_ = out.architecture.input_channels;
    height_ = out.architecture.input_height;
    walk(in.name(), out);
    for (const auto& p : m_.metadata_props()) {
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
      throw Error(source_ + ": the mapped network is not valid: " + e.what());
    }
    return out;
  }

 private:
  enum class State { map, permuted_map, squeezed_map, sequence, lstm_output, lstm_permuted, done };

  const ConstantTensor& constant(const std::string& name, const NodeProto& n) const {
    auto it = constants_.find(name);
    if (it == constants_.end())
      throw Error(source_ + ": " + describe(n) + ": input '" + name +
                  "' must be a constant (initialiser)");
    return it->second;
  }
  bool is_constant(const std::string& name) const { return constants_.count(name) > 0; }

  [[noreturn]] void fail(const NodeProto& n, const std::string& why) const {
    throw Error(source_ + ": " + describe(n) + ": " + why);
  }

  // The one node that takes `tensor` as data (Shape nodes only read its shape).
  const NodeProto* next_node(const std::string& tensor) const {
    auto it = consumers_.find(tensor);
    std::vector<const NodeProto*> users;
    if (it != consumers_.end())
      for (const NodeProto* n : it->second)
        if (n->op_type() != "Shape") users.push_back(n);
    if (users.empty()) return nullptr;
    if (users.size() > 1) {
      std::string names;
      for (const NodeProto* n : users)
        names += " " + describe(*n);
      throw Error(source_ + ": tensor '" + tensor + "' feeds several nodes (" + names +
                  " ): only a single chain of layers can be mapped");
    }
    return users[0];
  }

  // An LSTM initial state must be absent or zero: follow it back through
  // shape-only operations to a zero constant.
  void require_zero(const std::string& name, const NodeProto& lstm, const char* what) const {
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
      static const std::set<std::string> passthrough = {
          "Slice", "Expand", "Reshape", "Unsqueeze", "Squeeze", "Identity", "Cast", "Tile"};
      if (!passthrough.count(n.op_type()))
        fail(lstm, std::string(what) + " is computed by " + describe(n) +
                       " (only zero initial states are supported)");
      cur = n.input(0);
    }
    fail(lstm, std::string(what) + ": cannot follow its computation");
  }

  void walk(const std::string& input, ImportedModel& out) {
    State state = State::map;
    std::string cur = input;
    int index = 0;
    std::optional<LstmSpec> open_lstm;  // consecutive LSTM nodes stack into one layer
    int features = 0;                   // sequence feature size
    auto close_lstm = [&] {
      if (open_lstm) {
        out.architecture.layers.push_back(*open_lstm);
        open_lstm.reset();
      }
    };
    while (const NodeProto* np = next_node(cur)) {
      const NodeProto& n = *np;
      std::string next = n.output(0);
      const std::string& op = n.op_type();
      const std::string fallback = "layer" + std::to_string(index++);
      if (n.input(0) != cur && !(op == "MatMul" || op == "Add" || op == "Mul"))
        fail(n, "the feature map arrives on input '" + cur + "', not as the node's data input");
      if (op == "Identity" ||
          (op == "Dropout" && state != State::map && state != State::sequence)) {
        cur = n.output(0);
        continue;
      }
      if (op == "Dropout") {
        float p = 0.0f;
        if (n.input_size() > 1 && !n.input(1).empty()) {
          const auto& ratio = constant(n.input(1), n);
          if (ratio.floats.size() != 1) fail(n, "ratio is not one float");
          p = ratio.floats[0];
        } else if (const auto* r = find_attribute(n, "ratio"))
          p = r->f();
        close_lstm();
        out.architecture.layers.push_back(DropoutSpec{p});
        cur = n.output(0);
        continue;
      }
      switch (state) {
        case State::map:
          if (op == "Conv") {
            map_conv(n, fallback, out);
          } else if (op == "BatchNormalization") {
            BatchNormSpec s;
            s.name = layer_name(n, fallback);
            const auto& scale = constant(n.input(1), n);
            s.num_features = static_cast<int>(scale.floats.size());
            if (const auto* e = find_attribute(n, "epsilon")) s.eps = e->f();
            const char* suffix[] = {"", ".weight", ".bias", ".running_mean", ".running_var"};
            for (int k = 1; k <= 4; ++k) {
              const auto& c = constant(n.input(k), n);
              if (static_cast<int>(c.floats.size()) != s.num_features)
                fail(n, "batch-norm parameters differ in size");
              Tensor t({s.num_features});
              t.data = c.floats;
              out.tensors[s.name + suffix[k]] = std::move(t);
            }
            if (s.num_features != channels_)
              fail(n, "has " + std::to_string(s.num_features) + " channels, its input " +
                          std::to_string(channels_));
            out.architecture.layers.push_back(s);
          } else if (op == "Relu") {
            out.architecture.layers.push_back(ReluSpec{});
          } else if (op == "MaxPool") {
            map_pool(n, out);
          } else if (op == "Transpose") {
            if (ints_attribute(n, "perm") != std::vector<std::int64_t>{3, 0, 1, 2})
              fail(n,
                   "only the permutation [3, 0, 1, 2] (N C H W -> W N C H, before the sequence "
                   "reshape) is supported");
            state = State::permuted_map;
          } else if (op == "Squeeze") {
            std::vector<std::int64_t> axes = ints_attribute(n, "axes");
            if (n.input_size() > 1) axes = constant(n.input(1), n).ints;
            if (axes != std::vector<std::int64_t>{2} || height_ != 1)
              fail(n, "only squeezing the height axis (2) of a height-1 map is supported");
            state = State::squeezed_map;
          } else {
            fail(n,
                 "not supported in the convolutional part (Conv, BatchNormalization, Relu, "
                 "MaxPool, Dropout, then Transpose+Reshape or Squeeze+Transpose to frames)");
          }
          break;
        case State::permuted_map:
          if (op != "Reshape")
            fail(n, "expected the Reshape that merges channels and height into frame features");
          out.architecture.layers.push_back(CollapseSpec{});
          features = channels_ * height_;
          state = State::sequence;
          break;
        case State::squeezed_map:
          if (op != "Transpose" || ints_attribute(n, "perm") != std::vector<std::int64_t>{2, 0, 1})
            fail(n, "expected Transpose with permutation [2, 0, 1] (N C W -> W N C)");
          out.architecture.layers.push_back(CollapseSpec{});
          features = channels_;
          state = State::sequence;
          break;
        case State::sequence:
          if (op == "LSTM") {
            features = map_lstm(n, fallback, features, open_lstm, out);
            state = State::lstm_output;
          } else if (op == "MatMul" || op == "Gemm") {
            close_lstm();
            features = map_linear(n, cur, next, fallback, features, out);
          } else if (op == "Add") {
            fail(n, "an Add that is not a linear layer's bias");
          } else if (op == "Relu") {
            close_lstm();
            out.architecture.layers.push_back(ReluSpec{});
          } else if (op == "LogSoftmax" || op == "Softmax") {
            const auto axis = int_attribute(n, "axis", -1);
            if (axis != -1 && axis != 2) fail(n, "must normalise over the class axis (2 or -1)");
            close_lstm();
            state = State::done;
          } else {
            fail(n, "not supported on frame sequences (LSTM, MatMul/Gemm + Add, Relu, LogSoftmax)");
          }
          break;
        case State::lstm_output:
          if (op == "Transpose" &&
              ints_attribute(n, "perm") == std::vector<std::int64_t>{0, 2, 1, 3}) {
            state = State::lstm_permuted;
          } else if (op == "Squeeze") {
            std::vector<std::int64_t> axes = ints_attribute(n, "axes");
            if (n.input_size() > 1) axes = constant(n.input(1), n).ints;
            if (axes != std::vector<std::int64_t>{1} || open_lstm->bidirectional)
              fail(n,
                   "only squeezing the direction axis (1) of a forward LSTM's output is supported");
            state = State::sequence;
          } else {
            fail(n,
                 "expected Transpose [0, 2, 1, 3] + Reshape (bidirectional) or Squeeze axis 1 "
                 "after the LSTM");
          }
          break;
        case State::lstm_permuted:
          if (op != "Reshape") fail(n, "expected the Reshape that joins both directions' outputs");
          state = State::sequence;
          break;
        case State::done:
          fail(n, "nothing may follow the final (log-)softmax");
      }
      cur = next;
    }
    if (state != State::done && state != State::sequence)
      throw Error(source_ + ": the graph ends before producing per-frame class scores");
    close_lstm();
    bool found = false;
    for (const auto& o : m_.graph().output())
      found = found || o.name() == cur;
    if (!found)
      throw Error(source_ + ": the data path ends at '" + cur + "', which is not a graph output");
  }

  void map_conv(const NodeProto& n, const std::string& fallback, ImportedModel& out) {
    const auto groups = int_attribute(n, "group", 1);
    if (groups < 1 || groups > kMaxGeometry)
      fail(n, "group " + std::to_string(groups) + " is out of range");
    for (auto d : ints_attribute(n, "dilations", {1, 1}))
      if (d != 1) fail(n, "dilated convolution is not supported");
    if (const auto* a = find_attribute(n, "auto_pad"); a && a->s() != "NOTSET")
      fail(n, "auto_pad " + a->s() + " is not supported (explicit pads only)");
    const auto& w = constant(n.input(1), n);
    if (w.shape.size() != 4) fail(n, "weights must be 4-D");
    for (auto d : w.shape)
      if (d < 1 || d > kMaxGeometry)
        fail(n, "weight dimension " + std::to_string(d) + " is out of range");
    const auto pads = geometry(n, "pads", {0, 0, 0, 0}, 4, 0);
    if (pads[0] != pads[2] || pads[1] != pads[3]) fail(n, "asymmetric padding is not supported");
    const auto strides = geometry(n, "strides", {1, 1}, 2, 1);
    Conv2dSpec s;
    const std::string name = layer_name(n, fallback);
    // Grouped: the weights hold in_channels / group inputs per output.
    s.in_channels = static_cast<int>(w.shape[1] * groups);
    s.out_channels = static_cast<int>(w.shape[0]);
    if (s.out_channels % groups != 0)
      fail(n, std::to_string(s.out_channels) + " output channels do not divide into " +
                  std::to_string(groups) + " groups");
    s.kernel_h = static_cast<int>(w.shape[2]);
    s.kernel_w = static_cast<int>(w.shape[3]);
    s.stride_h = strides[0];
    s.stride_w = strides[1];
    s.pad_h = pads[0];
    s.pad_w = pads[1];
    if (s.in_channels != channels_)
      fail(n, "expects " + std::to_string(s.in_channels) + " input channels, gets " +
                  std::to_string(channels_));
    s.bias = n.input_size() > 2 && !n.input(2).empty();
    Tensor weight(w.shape);
    weight.data = w.floats;
    Tensor bias;
    if (s.bias) {
      bias = Tensor({s.out_channels});
      bias.data = constant(n.input(2), n).floats;
      if (static_cast<int>(bias.data.size()) != s.out_channels)
        fail(n, "bias size differs from the output channels");
    }
    channels_ = s.out_channels;
    height_ = detail::conv_out(height_, s.kernel_h, s.stride_h, s.pad_h);

    // Our own exports name a Tucker layer's convolutions N.in / N.core / N.out:
    // regroup them.
    auto ends_with = [](const std::string& a, const std::string& b) {
      return a.size() > b.size() && a.compare(a.size() - b.size(), b.size(), b) == 0;
    };
    auto& layers = out.architecture.layers;
    if (ends_with(name, ".out") && !layers.empty() && layers.back().is<Conv2dSpec>()) {
      const std::string base = name.substr(0, name.size() - 4);
      const Conv2dSpec core = layers.back().get<Conv2dSpec>();
      if (core.name == base + ".core" && !core.bias && s.kernel_h == 1 && s.kernel_w == 1 &&
          s.stride_h == 1 && s.stride_w == 1) {
        layers.pop_back();
        std::optional<Conv2dSpec> in;
        if (!layers.empty() && layers.back().is<Conv2dSpec>() &&
            layers.back().get<Conv2dSpec>().name == base + ".in") {
          in = layers.back().get<Conv2dSpec>();
          layers.pop_back();
        }
        TuckerConvSpec t;
        t.name = base;
        t.in_channels = in ? in->in_channels : core.in_channels;
        t.out_channels = s.out_channels;
        t.kernel_h = core.kernel_h, t.kernel_w = core.kernel_w;
        t.stride_h = core.stride_h, t.stride_w = core.stride_w;
        t.pad_h = core.pad_h, t.pad_w = core.pad_w;
        t.rank_in = in ? in->out_channels : 0;
        t.rank_out = core.out_channels;
        t.bias = s.bias;
        layers.push_back(t);
        out.tensors[base + ".out.weight"] = std::move(weight);
        if (s.bias) out.tensors[base + ".out.bias"] = std::move(bias);
        return;
      }
    }
    s.name = name;
    out.tensors[name + ".weight"] = std::move(weight);
    if (s.bias) out.tensors[name + ".bias"] = std::move(bias);
    if (groups == 1) {
      layers.push_back(s);
      return;
    }
    GroupedConvSpec g;
    g.name = s.name;
    g.in_channels = s.in_channels, g.out_channels = s.out_channels;
    g.kernel_h = s.kernel_h, g.kernel_w = s.kernel_w;
    g.stride_h = s.stride_h, g.stride_w = s.stride_w;
    g.pad_h = s.pad_h, g.pad_w = s.pad_w;
    g.groups = static_cast<int>(groups);
    g.bias = s.bias;
    layers.push_back(g);
  }

  // A 2-D geometry attribute (kernel_shape, strides: `count` 2; pads: 4)
  // checked for its length and a sane range before it becomes an int.
  std::vector<int> geometry(const NodeProto& n, const std::string& name,
                            std::vector<std::int64_t> fallback, std::size_t count, int lowest) {
    const auto values = ints_attribute(n, name, std::move(fallback));
    if (values.size() != count)
      fail(n, name + " must have " + std::to_string(count) + " values, has " +
                  std::to_string(values.size()));
    std::vector<int> out;
    for (auto v : values) {
      if (v < lowest || v > kMaxGeometry)
        fail(n, name + " value " + std::to_string(v) + " is out of range [" +
                    std::to_string(lowest) + ", " + std::to_string(kMaxGeometry) + "]");
      out.push_back(static_cast<int>(v));
    }
    return out;
  }
  static constexpr int kMaxGeometry = 1 << 16;

  void map_pool(const NodeProto& n, ImportedModel& out) {
    for (auto d : ints_attribute(n, "dilations", {1, 1}))
      if (d != 1) fail(n, "dilated pooling is not supported");
    if (n.output_size() > 1 && !n.output(1).empty())
      fail(n, "pooling indices output is not supported");
    if (const auto* a = find_attribute(n, "auto_pad"); a && a->s() != "NOTSET")
      fail(n, "auto_pad " + a->s() + " is not supported (explicit pads only)");
    const auto k = geometry(n, "kernel_shape", {}, 2, 1);
    const auto strides = geometry(n, "strides", {1, 1}, 2, 1);
    const auto pads = geometry(n, "pads", {0, 0, 0, 0}, 4, 0);
    if (pads[0] != pads[2] || pads[1] != pads[3]) fail(n, "asymmetric padding is not supported");
    MaxPoolSpec s;
    s.kernel_h = k[0], s.kernel_w = k[1];
    s.stride_h = strides[0], s.stride_w = strides[1];
    s.pad_h = pads[0], s.pad_w = pads[1];
    s.ceil_mode = int_attribute(n, "ceil_mode", 0) != 0;
    height_ = detail::pool_out(height_, s.kernel_h, s.stride_h, s.pad_h, s.ceil_mode);
    out.architecture.layers.push_back(s);
  }

  // Returns the output feature count.
  int map_lstm(const NodeProto& n, const std::string& fallback, int features,
               std::optional<LstmSpec>& open, ImportedModel& out) {
    const auto* dir_attr = find_attribute(n, "direction");
    const std::string direction = dir_attr ? dir_attr->s() : "forward";
    if (direction != "forward" && direction != "bidirectional")
      fail(n, "direction " + direction + " is not supported (forward, bidirectional)");
    const bool bidirectional = direction == "bidirectional";
    const int H = static_cast<int>(int_attribute(n, "hidden_size", 0));
    if (H <= 0) fail(n, "hidden_size missing");
    if (find_attribute(n, "clip")) fail(n, "cell clipping is not supported");
    if (int_attribute(n, "input_forget", 0) != 0) fail(n, "input_forget is not supported");
    if (int_attribute(n, "layout", 0) != 0) fail(n, "only layout 0 (time-major) is supported");
    if (const auto* a = find_attribute(n, "activations")) {
      const std::vector<std::string> standard = {"Sigmoid", "Tanh", "Tanh"};
      for (int i = 0; i < a->strings_size(); ++i)
        if (a->strings(i) != standard[static_cast<std::size_t>(i % 3)])
          fail(n, "activation " + a->strings(i) + " is not supported (Sigmoid, Tanh, Tanh)");
    }
    if (n.input_size() > 4 && !n.input(4).empty()) {
      // Per-line lengths only matter for padded batches; the runtime handles those itself.
      if (is_constant(n.input(4))) fail(n, "constant sequence_lens are not supported");
    }
    require_zero(n.input_size() > 5 ? n.input(5) : "", n, "initial_h");
    require_zero(n.input_size() > 6 ? n.input(6) : "", n, "initial_c");
    if (n.input_size() > 7 && !n.input(7).empty()) fail(n, "peephole weights are not supported");
    for (int o = 1; o < n.output_size(); ++o)
      if (!n.output(o).empty() && consumers_.count(n.output(o)))
        fail(n, "its final hidden or cell state is used by other nodes (not supported)");
    const auto& W = constant(n.input(1), n);
    const auto& R = constant(n.input(2), n);
    const int dirs = bidirectional ? 2 : 1;
    if (W.shape != std::vector<std::int64_t>{dirs, 4 * H, features})
      fail(n, "W must be [" + std::to_string(dirs) + ", " + std::to_string(4 * H) + ", " +
                  std::to_string(features) + "]");
    if (R.shape != std::vector<std::int64_t>{dirs, 4 * H, H}) fail(n, "R has the wrong shape");
    std::vector<float> B(static_cast<std::size_t>(dirs) * 8 * H, 0.0f);
    if (n.input_size() > 3 && !n.input(3).empty()) {
      B = constant(n.input(3), n).floats;
      if (B.size() != static_cast<std::size_t>(dirs) * 8 * H) fail(n, "B has the wrong size");
    }
    const std::string name = layer_name(n, fallback);
    if (open &&
        (open->name != name || open->hidden_size != H || open->bidirectional != bidirectional)) {
      out.architecture.layers.push_back(*open);
      open.reset();
    }
    if (!open) {
      LstmSpec s;
      s.name = name;
      s.input_size = features;
      s.hidden_size = H;
      s.num_layers = 0;
      s.bidirectional = bidirectional;
      open = s;
    }
    const int layer = open->num_layers++;
    // ONNX gate order i, o, f, c -> PyTorch i, f, g, o.
    const int onnx_block[4] = {0, 2, 3, 1};
    auto reorder = [&](const float* src, int cols) {
      std::vector<float> dst(static_cast<std::size_t>(4) * H * cols);
      for (int g = 0; g < 4; ++g)
        std::copy_n(src + static_cast<std::size_t>(onnx_block[g]) * H * cols,
                    static_cast<std::size_t>(H) * cols,
                    dst.begin() + static_cast<std::ptrdiff_t>(g) * H * cols);
      return dst;
    };
    for (int d = 0; d < dirs; ++d) {
      LstmTensorNames names = open->tensor_names(layer, d);
      Tensor wih({4 * H, features}), whh({4 * H, H}), bih({4 * H}), bhh({4 * H});
      wih.data =
          reorder(W.floats.data() + static_cast<std::size_t>(d) * 4 * H * features, features);
      whh.data = reorder(R.floats.data() + static_cast<std::size_t>(d) * 4 * H * H, H);
      bih.data = reorder(B.data() + static_cast<std::size_t>(d) * 8 * H, 1);
      bhh.data = reorder(B.data() + static_cast<std::size_t>(d) * 8 * H + 4 * H, 1);
      out.tensors[std::move(names.weight_ih)] = std::move(wih);
      out.tensors[std::move(names.weight_hh)] = std::move(whh);
      out.tensors[std::move(names.bias_ih)] = std::move(bih);
      out.tensors[std::move(names.bias_hh)] = std::move(bhh);
    }
    return H * dirs;
  }

  // MatMul (+ the Add of a bias) on frames; returns the output feature count
  // and sets `next` to the tensor after the layer.
  int map_linear(const NodeProto& n, const std::string& cur, std::string& next,
                 const std::string& fallback, int features, ImportedModel& out) {
    if (n.op_type() == "Gemm")
      fail(n,
           "Gemm works on 2-D matrices; frame sequences need MatMul + Add (as torch.onnx.export "
           "writes nn.Linear on 3-D input)");
    if (n.input(0) != cur) fail(n, "the frames must be the left operand");
    const auto& w = constant(n.input(1), n);  // [in, out]
    if (w.shape.size() != 2 || w.shape[0] != features)
      fail(n, "weight must be [" + std::to_string(features) + ", out]");
    LinearSpec s;
    s.name = layer_name(n, fallback);
    s.in_features = features;
    s.out_features = static_cast<int>(w.shape[1]);
    Tensor weight({s.out_features, s.in_features});
    for (int i = 0; i < s.in_features; ++i)
      for (int o = 0; o < s.out_features; ++o)
        weight.data[static_cast<std::size_t>(o) * s.in_features + i] =
            w.floats[static_cast<std::size_t>(i) * s.out_features + o];
    out.tensors[s.name + ".weight"] = std::move(weight);
    s.bias = false;
    // A following Add of a constant vector is the bias.
    if (const NodeProto* add = next_node(n.output(0)); add && add->op_type() == "Add") {
      const std::string other = add->input(0) == n.output(0) ? add->input(1) : add->input(0);
      if (is_constant(other)) {
        const auto& b = constant(other, *add);
        if (static_cast<int>(b.floats.size()) != s.out_features)
          fail(*add, "bias size differs from the output size");
        s.bias = true;
        Tensor bias({s.out_features});
        bias.data = b.floats;
        out.tensors[s.name + ".bias"] = std::move(bias);
        next = add->output(0);
      }
    }
    out.architecture.layers.push_back(s);
    return s.out_features;
  }

  const onnx::ModelProto& m_;
  std::string source_;
  std::map<std::string, ConstantTensor> constants_;
  std::map<std::string, const NodeProto*> producer_;
  std::map<std::string, std::vector<const NodeProto*>> consumers_;
  int channels_ = 0, height_ = 0;
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
