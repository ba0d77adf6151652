#include "layers/layer_registry.hpp"
#include "layers/lstm/lstm.hpp"
#include "layers/lstm/lstm_op.hpp"
#include "runtime/graph/lowering.hpp"

namespace ocrcore::detail {

LstmSpec LayerKind<LstmSpec>::parse(FieldReader& f) {
  LstmSpec s;
  s.name = f.string("name");
  s.input_size = f.integer("input_size", std::nullopt, 1);
  s.hidden_size = f.integer("hidden_size", std::nullopt, 1);
  s.num_layers = f.integer("num_layers", 1, 1);
  s.bidirectional = f.boolean("bidirectional", true);
  if (!f.boolean("bias", true)) f.fail("LSTM without bias is not supported");
  return s;
}

void LayerKind<LstmSpec>::write(const LstmSpec& s, json& j) {
  j["name"] = s.name;
  j["input_size"] = s.input_size;
  j["hidden_size"] = s.hidden_size;
  j["num_layers"] = s.num_layers;
  j["bidirectional"] = s.bidirectional;
}

void LayerKind<LstmSpec>::check(const LstmSpec& s, ShapeCheck& c) {
  c.need_sequence();
  if (s.input_size != c.shape.features)
    c.fail("input_size " + std::to_string(s.input_size) + " but the input has " +
           std::to_string(c.shape.features) + " features");
  c.shape.features = s.hidden_size * s.directions();
}

void LayerKind<LstmSpec>::tensors(const LstmSpec& s, std::vector<TensorRequirement>& out) {
  const std::int64_t gates = 4 * std::int64_t{s.hidden_size};
  for (int l = 0; l < s.num_layers; ++l) {
    const std::int64_t in = l == 0 ? s.input_size : std::int64_t{s.hidden_size} * s.directions();
    for (int d = 0; d < s.directions(); ++d) {
      LstmTensorNames n = s.tensor_names(l, d);
      out.push_back({std::move(n.weight_ih), {gates, in}});
      out.push_back({std::move(n.weight_hh), {gates, s.hidden_size}});
      out.push_back({std::move(n.bias_ih), {gates}});
      out.push_back({std::move(n.bias_hh), {gates}});
    }
  }
}

std::int64_t LayerKind<LstmSpec>::parameters(const LstmSpec& s) {
  std::vector<TensorRequirement> t;
  tensors(s, t);
  std::int64_t n = 0;
  for (const auto& r : t) {
    std::int64_t k = 1;
    for (auto d : r.shape)
      k *= d;
    n += k;
  }
  return n;
}

void LayerKind<LstmSpec>::count(const LstmSpec& s, WorkCount& w) {
  for (int l = 0; l < s.num_layers; ++l) {
    const double in = l == 0 ? s.input_size : double(s.hidden_size) * s.directions();
    w.madds += s.directions() * double(w.width) * 4 * s.hidden_size * (in + s.hidden_size);
  }
}

// Each direction's two biases summed: the engines add one.
void LayerKind<LstmSpec>::lower(const LstmSpec& s, Lowering& l) {
  LstmOp op;
  op.input_size = s.input_size;
  op.hidden_size = s.hidden_size;
  op.num_layers = s.num_layers;
  op.bidirectional = s.bidirectional;
  op.layers.resize(s.num_layers);
  for (int layer = 0; layer < s.num_layers; ++layer) {
    for (int d = 0; d < op.directions(); ++d) {
      const LstmTensorNames names = s.tensor_names(layer, d);
      LstmDirection& dir = op.layers[layer][d];
      dir.w_ih = l.take(names.weight_ih);
      dir.w_hh = l.take(names.weight_hh);
      dir.w_ih_name = names.weight_ih;
      dir.w_hh_name = names.weight_hh;
      dir.bias = l.take(names.bias_ih);
      const auto& b_hh = l.values(names.bias_hh);
      for (std::size_t i = 0; i < dir.bias.size(); ++i)
        dir.bias[i] += b_hh[i];
    }
  }
  l.add(std::move(op));
}

std::string LstmOp::describe() const {
  return std::string(bidirectional ? "bilstm " : "lstm ") + std::to_string(input_size) + "->" +
         std::to_string(hidden_size) + " x" + std::to_string(num_layers);
}

void register_lstm_layer(LayerKindRegistry& registry) {
  registry.add<LstmSpec>();
}

}  // namespace ocrcore::detail
