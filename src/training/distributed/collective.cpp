#include "training/distributed/collective.hpp"

#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "ocrcore/error.hpp"
#include "runtime/core/file_io.hpp"
#include "runtime/model/model_access.hpp"

namespace ocrcore::train {

#ifdef OCRCORE_HAVE_MPI
// mpi_collective.cpp: initialises MPI.
std::shared_ptr<Collective> make_mpi_collective();
#endif

namespace {

class SingleProcess final : public Collective {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void sum(std::span<double>) override {}
  void sum(std::span<float>) override {}
  void broadcast(std::string&) override {}
  std::vector<std::uint64_t> all_gather(std::uint64_t value) override { return {value}; }
  std::vector<std::vector<std::string>> gather(const std::vector<std::string>& local) override {
    return {local};
  }
  void abort_job(int) override {}
};

// The number of processes the launcher started, from its environment
// (0: not started by an MPI launcher).
int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"})
    if (const char* v = std::getenv(name)) return std::atoi(v);
  return 0;
}

}  // namespace

std::string Collective::where() const {
  if (size() == 1) return {};
  return "rank " + std::to_string(rank()) + " of " + std::to_string(size());
}

std::shared_ptr<Collective> single_process() {
  return std::make_shared<SingleProcess>();
}

bool started_by_mpi_launcher() {
  return launcher_world_size() > 1;
}

bool built_with_mpi() {
#ifdef OCRCORE_HAVE_MPI
  return true;
#else
  return false;
#endif
}

std::shared_ptr<Collective> join_job() {
  if (!started_by_mpi_launcher()) return single_process();
#ifdef OCRCORE_HAVE_MPI
  return make_mpi_collective();
#else
  // Each of the N processes would train alone on the whole data set and
  // write the same run directory.
  throw Error("started by mpirun as one of " + std::to_string(launcher_world_size()) +
              " processes, but this build has no MPI support (configure with Open MPI "
              "installed: libopenmpi-dev, and -DOCRCORE_WITH_MPI=ON)");
#endif
}

std::string cpu_binding_warning(int threads) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return {};
  const int cpus = CPU_COUNT(&set);
  if (cpus >= threads) return {};
  return "this process may run on " + std::to_string(cpus) + " CPU" + (cpus == 1 ? "" : "s") +
         " but was asked for " + std::to_string(threads) +
         " threads, which will share them (under mpirun: --bind-to none, or --map-by "
         "ppr:1:node:PE=" +
         std::to_string(threads) + ")";
}

int fail_job(const char* tool, const std::exception& error, Collective* team) {
  const std::string where = team ? team->where() : std::string();
  std::fprintf(stderr, "%s: error%s: %s\n", tool, where.empty() ? "" : (" (" + where + ")").c_str(),
               error.what());
  if (team) team->abort_job(1);
  return 1;
}

std::string read_on_root(Collective& team, const std::filesystem::path& path) {
  std::string bytes;
  // An error on the root ends the whole job (the tools call abort_job), so the
  // others never wait here for bytes that will not come.
  if (team.is_root()) bytes = detail::read_text_file(path);
  team.broadcast(bytes);
  return bytes;
}

std::shared_ptr<const Model> load_model_from_root(Collective& team,
                                                  const std::filesystem::path& path) {
  const std::string bytes = read_on_root(team, path);
  return ModelAccess::load_from_bytes(
      std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), path.string());
}

}  // namespace ocrcore::train
