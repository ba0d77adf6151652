// The training job's collectives on Open MPI (built with OCRCORE_WITH_MPI).

#include <mpi.h>

#include <cstdio>
#include <limits>

#include "ocrcore/error.hpp"
#include "training/distributed/collective.hpp"

namespace ocrcore::train {

namespace {

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string(what) + ": " + std::string(text, static_cast<std::size_t>(length)));
}

// MPI counts are ints: large buffers go in pieces.
constexpr std::size_t kMaxCount = std::numeric_limits<int>::max() / 2;

class MpiCollective final : public Collective {
 public:
  MpiCollective() {
    // Only the main thread calls MPI (the loader's and OpenMP's threads never do).
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    // Errors come back as codes (and become exceptions) rather than ending the
    // process inside MPI without a word of ours.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiCollective() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void sum(std::span<double> values) override {
    all_reduce(values.data(), values.size(), MPI_DOUBLE);
  }
  void sum(std::span<float> values) override {
    all_reduce(values.data(), values.size(), MPI_FLOAT);
  }

  void broadcast(std::string& bytes) override {
    unsigned long long size = bytes.size();
    check(MPI_Bcast(&size, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD), "MPI_Bcast");
    bytes.resize(static_cast<std::size_t>(size));
    for (std::size_t done = 0; done < bytes.size(); done += kMaxCount) {
      const auto count = static_cast<int>(std::min(kMaxCount, bytes.size() - done));
      check(MPI_Bcast(bytes.data() + done, count, MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
    }
  }

  std::vector<std::uint64_t> all_gather(std::uint64_t value) override {
    std::vector<std::uint64_t> all(static_cast<std::size_t>(size_));
    unsigned long long v = value;
    check(MPI_Allgather(&v, 1, MPI_UNSIGNED_LONG_LONG, all.data(), 1, MPI_UNSIGNED_LONG_LONG,
                        MPI_COMM_WORLD),
          "MPI_Allgather");
    return all;
  }

  std::vector<std::vector<std::string>> gather(const std::vector<std::string>& local) override {
    // Each rank's strings as one buffer of NUL-terminated strings.
    std::string packed;
    for (const std::string& s : local)
      packed.append(s).push_back('\0');
    if (packed.size() > kMaxCount) packed.resize(kMaxCount);  // messages, not data
    const int length = static_cast<int>(packed.size());
    std::vector<int> lengths(static_cast<std::size_t>(size_)), offsets(lengths.size());
    check(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD),
          "MPI_Gather");
    std::string all;
    if (rank_ == 0) {
      std::size_t total = 0;
      for (std::size_t r = 0; r < lengths.size(); ++r) {
        offsets[r] = static_cast<int>(total);
        total += static_cast<std::size_t>(lengths[r]);
      }
      all.resize(total);
    }
    check(MPI_Gatherv(packed.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(),
                      MPI_CHAR, 0, MPI_COMM_WORLD),
          "MPI_Gatherv");
    std::vector<std::vector<std::string>> out;
    if (rank_ != 0) return out;
    out.resize(lengths.size());
    for (std::size_t r = 0; r < lengths.size(); ++r) {
      std::size_t at = static_cast<std::size_t>(offsets[r]);
      const std::size_t end = at + static_cast<std::size_t>(lengths[r]);
      while (at < end) {
        const std::size_t stop = all.find('\0', at);
        out[r].push_back(all.substr(at, std::min(stop, end) - at));
        at = std::min(stop, end) + 1;
      }
    }
    return out;
  }

  void abort_job(int exit_code) override {
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, exit_code);
  }

 private:
  void all_reduce(void* data, std::size_t count, MPI_Datatype type) {
    const std::size_t element = type == MPI_DOUBLE ? sizeof(double) : sizeof(float);
    auto* bytes = static_cast<char*>(data);
    for (std::size_t done = 0; done < count; done += kMaxCount) {
      const auto n = static_cast<int>(std::min(kMaxCount, count - done));
      check(MPI_Allreduce(MPI_IN_PLACE, bytes + done * element, n, type, MPI_SUM, MPI_COMM_WORLD),
            "MPI_Allreduce");
    }
  }

  int rank_ = 0, size_ = 1;
};

}  // namespace

std::shared_ptr<Collective> make_mpi_collective() {
  return std::make_shared<MpiCollective>();
}

}  // namespace ocrcore::train
