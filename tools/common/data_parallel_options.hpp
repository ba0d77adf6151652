#pragma once

// What ocr-train and ocr-compress share as ranks of a data-parallel job:
// their options and joining the job (README: Training on several machines).
// Header-only: the tool support library knows nothing of training.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "training/distributed/collective.hpp"
#include "training/train/trainer.hpp"

namespace ocrcore::tools {

struct DataParallelOptions {
  std::string batch_widths = "measured";

  void add_to(CLI::App& app, train::TrainerSettings& s) {
    app.add_option("--batch-widths", batch_widths,
                   "How batches of similar widths form: measured (lines loaded, then sorted: the "
                   "least padding; the ranks of an mpirun job take premeasured instead), "
                   "premeasured (every line's width measured before training, each rank its "
                   "share) or predicted (from image headers, no measuring pass)")
        ->check(CLI::IsMember({"measured", "premeasured", "predicted"}))
        ->capture_default_str();
    app.add_option("--verify-replicas-every", s.verify_replicas_every,
                   "Under mpirun: compare every rank's parameters this often (also at each "
                   "checkpoint; 0: at checkpoints only)")
        ->capture_default_str();
  }

  // The job this process is a rank of (under mpirun: MPI), set in `s` with
  // the batch widths; warns on standard error when the rank may run on fewer
  // CPUs than its threads. Throws Error as train::join_job does.
  std::shared_ptr<train::Collective> join(const char* tool, train::TrainerSettings& s) const {
    auto team = train::join_job();
    s.team = team;
    s.batch_widths = data::parse_batch_widths(batch_widths);
    if (const std::string w = train::cpu_binding_warning(s.threads); !w.empty()) {
      const std::string where = team->where().empty() ? "" : " (" + team->where() + ")";
      std::fprintf(stderr, "%s: warning%s: %s\n", tool, where.c_str(), w.c_str());
    }
    return team;
  }
};

}  // namespace ocrcore::tools
