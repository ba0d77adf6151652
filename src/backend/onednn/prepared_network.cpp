#include "backend/onednn/prepared_network.hpp"

#include <algorithm>
#include <cmath>
#include <new>

#include "backend/onednn/image_conv.hpp"
#include "backend/onednn/onednn_batch.hpp"
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
  if (lstm_precision == Precision::int8 && (!kernels_.lstm_step_int8 || !kernels_.int8_projection))
    throw Error("the int8 LSTM step needs AVX-512 VNNI, which this CPU lacks (kernel path " +
                    std::string(isa_name(resolved_isa)) + "); use fp32",
                ErrorKind::unsupported);
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
  const auto& ops = network_.ops;
  const onednn::ExecutorRegistry& registry = onednn::executors();
  ops_.resize(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const auto prepare = registry.find(*ops[i]).prepare;
    if (!prepare) continue;
    const PrepareContext context{kernels_,
                                 resolved_isa,
                                 tucker,
                                 lstm_precision,
                                 i < int8_ops.size() && int8_ops[i],
                                 i < bf16_ops.size() && bf16_ops[i],
                                 i == 0};
    ops_[i] = prepare(*ops[i], context);
  }
  image_ = onednn::plan_image_conv(*this);
}

void PreparedNetwork::missing(std::size_t op) const {
  throw Error(
      "op " + std::to_string(op) + " has no prepared weights of the kind its executor needs",
      ErrorKind::internal);
}

std::size_t PreparedConvolutions::bytes() const {
  std::size_t total = 0;
  if (composed) total += vector_bytes(composed->weight) + vector_bytes(composed->bias);
  for (const auto& conv : convolutions)
    total += conv->bytes();
  return total;
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
  if (int8) int8_values = op.int8_weights().values;
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
  for (const auto& op : ops_)
    if (op) total += op->bytes();
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
