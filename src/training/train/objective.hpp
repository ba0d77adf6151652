#pragma once

#include <string>
#include <vector>

#include "training/data/batch_loader.hpp"
#include "training/distributed/collective.hpp"
#include "training/train/network.hpp"

namespace ocrcore::train {

// A step's loss over the global batch (all ranks' lines): the same on every rank.
struct StepLoss {
  double loss = 0;                    // mean per line of the lines that contributed
  std::size_t lines = 0;              // lines that contributed (0: nothing to learn from)
  std::vector<std::string> problems;  // this rank's lines left out and why
};

// What a training step optimises: runs forward and backward for one batch on
// the network being trained, accumulating parameter gradients. In a
// data-parallel job `batch` is this rank's share of the global batch; the
// loss is normalised over the global batch (its line counts summed over
// `team` before backward), so that the ranks' gradients sum to the global
// batch's. Every rank calls backward when any rank has a line to learn from.
class Objective {
 public:
  virtual ~Objective() = default;
  virtual StepLoss step(Network& net, const data::Batch& batch, Collective& team) = 0;
  // Whether every training line needs a transcription.
  virtual bool needs_labels() const { return true; }
  virtual std::string name() const = 0;
};

// CTC on the ground truth, per-line losses averaged over the lines that can
// be aligned (the others are reported and skipped).
class CtcObjective final : public Objective {
 public:
  StepLoss step(Network& net, const data::Batch& batch, Collective& team) override;
  std::string name() const override { return "ctc"; }
};

}  // namespace ocrcore::train
