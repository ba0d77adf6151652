#pragma once

#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace ocrcore {
class Model;
}

namespace ocrcore::train {

// The processes of one data-parallel training job and the few collective
// operations training needs. Every rank must make the same calls in the same
// order (MPI's rule). One process: every operation is the identity. Started
// by mpirun: Open MPI (mpi_collective.cpp), never a transport of our own.
class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_root() const { return rank() == 0; }

  // Element-wise sums over the ranks, in place, the same result on every rank.
  virtual void sum(std::span<double> values) = 0;
  virtual void sum(std::span<float> values) = 0;
  // The root's bytes on every rank (`bytes` is resized on the others).
  virtual void broadcast(std::string& bytes) = 0;
  // Every rank's `value`, in rank order, on every rank.
  virtual std::vector<std::uint64_t> all_gather(std::uint64_t value) = 0;
  // Every rank's strings, in rank order, on the root; empty on the others.
  virtual std::vector<std::vector<std::string>> gather(const std::vector<std::string>& local) = 0;

  // Ends every rank's process now, so that none waits for this one in a
  // collective (MPI_Abort). One process: returns, the caller exits as usual.
  virtual void abort_job(int exit_code) = 0;
  // "rank 1 of 4" (empty for one process): what an error message names.
  std::string where() const;
};

// The one-process job.
std::shared_ptr<Collective> single_process();

// Whether mpirun (or another MPI launcher) started this process as one of
// more than one: Open MPI's and PMI's environment.
bool started_by_mpi_launcher();
bool built_with_mpi();

// The job this process belongs to: an MPI one when started by mpirun with
// more than one process (MPI initialised here, finalised when the last
// reference goes), else the one-process job. Throws Error when started by
// mpirun with N > 1 in a build without MPI. Call once, from the main thread.
std::shared_ptr<Collective> join_job();

// A warning when this process may run on fewer CPUs than `threads` (mpirun
// binds each rank to one core when it starts two or fewer, to a socket
// otherwise): its threads would share them. Empty when there are enough.
std::string cpu_binding_warning(int threads);

// Ends a training tool on an error: "TOOL: error (rank 1 of 4): WHAT" on
// standard error, and in a job of several ranks every rank's process ends
// too (abort_job), so that none waits for this one. Returns the exit code (1).
int fail_job(const char* tool, const std::exception& error, Collective* team);

// The bytes of `path`, read on the root only (where the job's outputs are),
// on every rank.
std::string read_on_root(Collective& team, const std::filesystem::path& path);
// A model file written by the root, loaded on every rank from the root's
// bytes: the other ranks need no shared file system.
std::shared_ptr<const Model> load_model_from_root(Collective& team,
                                                  const std::filesystem::path& path);

}  // namespace ocrcore::train
