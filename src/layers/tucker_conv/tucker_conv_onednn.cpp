// tucker_conv in the oneDNN engine: its factors as convolutions in a row,
// or the one convolution they compose into where that runs faster
// (tuning::compose_tucker, decided when the model is prepared).

#include "layers/conv2d/conv2d_onednn.hpp"
#include "layers/tucker_conv/tucker_conv_op.hpp"
#include "runtime/engines/onednn/tuning.hpp"

namespace ocrcore::detail::onednn {

namespace {

class TuckerChainExecutor final : public OpExecutor {
 public:
  TuckerChainExecutor(const std::vector<std::unique_ptr<PreparedConv>>& factors, std::string name)
      : name_(std::move(name)) {
    for (const auto& f : factors) {
      factors_.push_back(std::make_unique<ConvExecutor>(*f, f->op().describe()));
      steps_.push_back(factors_.back().get());
    }
  }
  Dataflow dataflow() const override { return Dataflow::maps_to_maps; }
  void run(Context& c, const OpData& data) override { run_in_sequence(c, steps_, data, scratch_); }
  void forget_shapes() override {
    for (auto& f : factors_)
      f->forget_shapes();
  }
  std::string name() const override { return name_; }

 private:
  std::vector<std::unique_ptr<ConvExecutor>> factors_;
  std::vector<OpExecutor*> steps_;
  FeatureMaps scratch_;  // the first factor's output in a chain of two
  std::string name_;
};

std::unique_ptr<PreparedOp> prepare_tucker_conv(const Op& op, const PrepareContext& context) {
  const auto& t = *op_as<TuckerOp>(op);
  auto prepared = std::make_unique<PreparedConvolutions>();
  auto add = [&](const ConvOp& conv) {
    prepared->convolutions.push_back(
        std::make_unique<PreparedConv>(conv, std::vector<float>{}, context.bf16_convolution));
  };
  if (tuning::compose_tucker(t, context.first_op, context.tucker)) {
    prepared->composed = compose_tucker(t);
    add(*prepared->composed);
  } else {
    if (t.has_in) add(t.in);
    add(t.core);
    add(t.out);
  }
  return prepared;
}

// "tucker 64->128 ranks 20,30", or "tucker composed 64->128".
std::unique_ptr<OpExecutor> make_tucker_conv_executor(const PreparedNetwork& prepared,
                                                      std::size_t op, OpPlacement) {
  const auto& t = *op_as<TuckerOp>(*prepared.network().ops.at(op));
  const auto& p = prepared.op<PreparedConvolutions>(op);
  if (p.composed) {
    const int in = t.has_in ? t.in.in_channels : t.core.in_channels;
    return std::make_unique<ConvExecutor>(
        *p.convolutions.front(),
        "tucker composed " + std::to_string(in) + "->" + std::to_string(t.out.out_channels));
  }
  return std::make_unique<TuckerChainExecutor>(p.convolutions, t.describe());
}

}  // namespace

void register_tucker_conv_onednn(ExecutorRegistry& registry) {
  registry.add<TuckerOp>(make_tucker_conv_executor, prepare_tucker_conv);
}

}  // namespace ocrcore::detail::onednn
