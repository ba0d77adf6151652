// tucker_conv in the oneDNN engine: its factors as convolutions in a row,
// or the one convolution they compose into where that runs faster
// (tuning::compose_tucker, decided when the model is prepared).

#include "layers/onednn_executors.hpp"

namespace ocrcore::detail::onednn {

namespace {

class TuckerChainExecutor final : public OpExecutor {
 public:
  TuckerChainExecutor(const std::vector<std::unique_ptr<PreparedConv>>& factors, std::string name)
      : name_(std::move(name)) {
    for (const auto& f : factors)
      factors_.push_back(std::make_unique<ConvExecutor>(*f, conv_name(f->op())));
  }
  void run(Context& c) override {
    for (auto& f : factors_)
      f->run(c);
  }
  void forget_shapes() override {
    for (auto& f : factors_)
      f->forget_shapes();
  }
  std::string name() const override { return name_; }

 private:
  std::vector<std::unique_ptr<ConvExecutor>> factors_;
  std::string name_;
};

}  // namespace

std::string tucker_conv_name(const PreparedNetwork& prepared, std::size_t op) {
  const auto& t = std::get<TuckerOp>(prepared.network().ops.at(op));
  const int in = t.has_in ? t.in.in_channels : t.core.in_channels;
  const std::string channels = std::to_string(in) + "->" + std::to_string(t.out.out_channels);
  if (prepared.composed(op)) return "tucker composed " + channels;
  return "tucker " + channels + " ranks " + std::to_string(t.core.in_channels) + "," +
         std::to_string(t.core.out_channels);
}

std::unique_ptr<OpExecutor> make_tucker_conv_executor(const PreparedNetwork& prepared,
                                                      std::size_t op) {
  const auto& convolutions = prepared.convolutions(op);
  const std::string name = tucker_conv_name(prepared, op);
  if (prepared.composed(op)) return std::make_unique<ConvExecutor>(*convolutions.front(), name);
  return std::make_unique<TuckerChainExecutor>(convolutions, name);
}

}  // namespace ocrcore::detail::onednn
