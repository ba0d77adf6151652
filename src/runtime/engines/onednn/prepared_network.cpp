#include "runtime/engines/onednn/prepared_network.hpp"

#include <algorithm>
#include <cmath>
#include <new>

#include "ocrcore/error.hpp"
#include "runtime/engines/onednn/image_conv.hpp"
#include "runtime/engines/onednn/onednn_batch.hpp"
#include "runtime/graph/quantization.hpp"
#include "runtime/model/model_access.hpp"

namespace ocrcore::detail {

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

std::string PreparedNetwork::key(Isa resolved_isa, TuckerExecution tucker, Precision lstm_precision,
                                 Precision conv_precision) {
  return "onednn/" + std::string(isa_name(resolved_isa)) + "/tucker" +
         std::to_string(static_cast<int>(tucker)) +
         (lstm_precision == Precision::int8 ? "/lstm-int8" : "/lstm-fp32") +
         (conv_precision == Precision::int8   ? "/conv-int8"
          : conv_precision == Precision::bf16 ? "/conv-bf16"
                                              : "/conv-fp32");
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
