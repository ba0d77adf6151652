#include "backend/onednn/prepared_network.hpp"

#include <algorithm>
#include <cmath>
#include <new>

#include "backend/onednn/tuning.hpp"
#include "nn/quantization.hpp"
#include "ocrcore/error.hpp"

namespace ocrcore::detail {

namespace {

template <class T>
std::size_t vector_bytes(const std::vector<T>& v) {
  return v.size() * sizeof(T);
}

}  // namespace

PreparedNetwork::PreparedNetwork(const CompiledNetwork& network, Isa resolved_isa,
                                 TuckerExecution tucker, Precision lstm_precision,
                                 Precision conv_precision)
    : network_(network),
      kernels_(kernels::kernel_table(resolved_isa)),
      lstm_precision_(lstm_precision) {
  const bool int8 = lstm_precision == Precision::int8;
  if (int8 && (!kernels_.lstm_step_int8 || !kernels_.int8_projection))
    throw Error("the int8 LSTM step needs AVX-512 VNNI, which this CPU lacks (kernel path " +
                    std::string(isa_name(resolved_isa)) + "); use fp32",
                ErrorKind::unsupported);
  const auto& ops = network_.ops;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (const auto* t = std::get_if<TuckerOp>(&ops[i])) {
      if (tuning::compose_tucker(*t, i == 0, tucker)) composed_.emplace(i, compose_tucker(*t));
    } else if (const auto* l = std::get_if<LstmOp>(&ops[i])) {
      auto& layers = lstm_[i];
      for (int layer = 0; layer < l->num_layers; ++layer) {
        LstmLayer p;
        for (int d = 0; d < l->directions(); ++d) {
          const auto& w = l->layers[layer][d];
          if (int8)
            p.recurrent_int8[d] =
                kernels::pack_recurrent_int8(w.w_hh.data(), w.bias.data(), l->hidden_size);
          else
            p.recurrent[d] = kernels::pack_recurrent(w.w_hh.data(), w.bias.data(), l->hidden_size);
          p.w_ih.insert(p.w_ih.end(), w.w_ih.begin(), w.w_ih.end());
        }
        if (int8) {
          p.w_ih_int8 = kernels::pack_int8_rows(p.w_ih.data(), 4 * l->hidden_size * l->directions(),
                                                l->layer_input(layer));
          p.w_ih = {};  // only the int8 form runs
        }
        layers.push_back(std::move(p));
      }
    } else if (const auto* lin = std::get_if<LinearOp>(&ops[i])) {
      dense_.emplace(i, kernels::pack_dense(lin->weight.data(), lin->bias.data(), lin->out_features,
                                            lin->in_features));
    }
  }
  std::vector<bool> bf16_ops, int8_ops;
  if (conv_precision == Precision::bf16) {
    if (!kernels::cpu_has_avx512_bf16())
      throw Error("bf16 convolutions need AVX-512 BF16, which this CPU lacks; use fp32 or int8",
                  ErrorKind::unsupported);
    bf16_ops = bf16_convolutions(network_);
  }
  if (conv_precision == Precision::int8) {
    if (!kernels::cpu_has_avx512_vnni())
      throw Error("int8 convolutions need AVX-512 VNNI, which this CPU lacks; use fp32",
                  ErrorKind::unsupported);
    int8_ops = int8_convolutions(network_);
  }
  convolutions_.resize(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const bool bf16 = i < bf16_ops.size() && bf16_ops[i];
    auto add = [&](const ConvOp& op, std::vector<float> int8_scale = {}) {
      convolutions_[i].push_back(std::make_unique<PreparedConv>(op, std::move(int8_scale), bf16));
    };
    if (const auto* conv = std::get_if<ConvOp>(&ops[i])) {
      // int8: only the scales are kept here; the int8 values are made when
      // oneDNN asks for a layout (PreparedConv::weights).
      add(*conv, i < int8_ops.size() && int8_ops[i] ? row_scales(conv->weight, conv->out_channels)
                                                    : std::vector<float>{});
    } else if (const auto* t = std::get_if<TuckerOp>(&ops[i])) {
      if (const auto c = composed_.find(i); c != composed_.end()) {
        add(c->second);
      } else {
        if (t->has_in) add(t->in);
        add(t->core);
        add(t->out);
      }
    }
  }
  // The first layer as it runs (a composed Tucker-1 layer included).
  const ConvOp* first =
      !ops.empty() && convolutions_[0].size() == 1 ? &convolutions_[0][0]->op() : nullptr;
  if (first && tuning::image_conv(*first)) {
    image_.active = true;
    const int channels = first->out_channels;
    image_.weights.resize(9 * static_cast<std::size_t>(channels));
    for (int o = 0; o < channels; ++o)
      for (int k = 0; k < 9; ++k)
        image_.weights[static_cast<std::size_t>(k) * channels + o] = first->weight[o * 9 + k];
    const auto* pool = ops.size() > 1 ? std::get_if<PoolOp>(&ops[1]) : nullptr;
    image_.pool = pool && tuning::image_conv_pool(*pool);
  }
}

std::string PreparedNetwork::key(Isa resolved_isa, TuckerExecution tucker, Precision lstm_precision,
                                 Precision conv_precision) {
  return "onednn/" + std::string(isa_name(resolved_isa)) + "/tucker" +
         std::to_string(static_cast<int>(tucker)) +
         (lstm_precision == Precision::int8 ? "/lstm-int8" : "/lstm-fp32") +
         (conv_precision == Precision::int8   ? "/conv-int8"
          : conv_precision == Precision::bf16 ? "/conv-bf16"
                                              : "/conv-fp32");
}

const void* PreparedConv::weights(const dnnl::memory::desc& layout, const dnnl::engine& engine,
                                  dnnl::stream& stream) const {
  using dnnl::memory;
  std::lock_guard lock(mutex_);
  for (const auto& r : reordered_)
    if (r->layout == layout) return r->values.get();
  auto r = std::make_unique<Reordered>();
  r->layout = layout;
  r->bytes = layout.get_size();
  r->values.reset(std::aligned_alloc(64, (r->bytes + 63) / 64 * 64));
  if (!r->values) throw std::bad_alloc();
  const ConvOp& op = *op_;
  const memory::dims dims = {op.out_channels, op.in_channels, op.kernel_h, op.kernel_w};
  const bool int8 = layout.data_type() == memory::data_type::s8;
  std::vector<std::int8_t> int8_values;  // oihw, as the model file stores them
  if (int8) int8_values = quantize_conv_weights(op).values;
  memory user(memory::desc(dims, int8 ? memory::data_type::s8 : memory::data_type::f32,
                           memory::format_tag::oihw),
              engine,
              int8 ? static_cast<void*>(int8_values.data())
                   : static_cast<void*>(const_cast<float*>(op.weight.data())));
  memory target(layout, engine, r->values.get());
  dnnl::reorder(user, target).execute(stream, user, target);
  stream.wait();
  reordered_.push_back(std::move(r));
  return reordered_.back()->values.get();
}

std::size_t PreparedConv::bytes() const {
  std::size_t total = vector_bytes(int8_scale_);
  std::lock_guard lock(mutex_);
  for (const auto& r : reordered_)
    total += r->bytes;
  return total;
}

std::size_t PreparedNetwork::bytes() const {
  std::size_t total = vector_bytes(image_.weights);
  for (const auto& [i, c] : composed_)
    total += vector_bytes(c.weight) + vector_bytes(c.bias);
  for (const auto& [i, d] : dense_)
    total += vector_bytes(d.w) + vector_bytes(d.bias);
  for (const auto& [i, layers] : lstm_)
    for (const auto& l : layers) {
      total += vector_bytes(l.w_ih) + vector_bytes(l.w_ih_int8.w) +
               vector_bytes(l.w_ih_int8.scale) + vector_bytes(l.w_ih_int8.zero_term);
      for (const auto& r : l.recurrent)
        total += vector_bytes(r.w) + vector_bytes(r.bias);
      for (const auto& r : l.recurrent_int8)
        total += vector_bytes(r.w) + vector_bytes(r.scale) + vector_bytes(r.zero_term) +
                 vector_bytes(r.bias);
    }
  for (const auto& op : convolutions_)
    for (const auto& conv : op)
      total += conv->bytes();
  return total;
}

std::shared_ptr<const PreparedNetwork> prepared_network(const Model& model, Isa isa,
                                                        TuckerExecution tucker,
                                                        Precision lstm_precision,
                                                        Precision conv_precision) {
  const Isa resolved = resolve_isa(isa);
  auto p = ModelAccess::prepared(
      model, PreparedNetwork::key(resolved, tucker, lstm_precision, conv_precision), [&] {
        return std::make_shared<const PreparedNetwork>(ModelAccess::network(model), resolved,
                                                       tucker, lstm_precision, conv_precision);
      });
  return std::static_pointer_cast<const PreparedNetwork>(p);
}

}  // namespace ocrcore::detail
