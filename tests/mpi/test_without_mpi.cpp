// The training job's entry compiled as a build without MPI compiles it: a
// tool started by mpirun as one of several processes says so and stops,
// rather than N processes each training alone into the same run directory.

#include <gtest/gtest.h>

#include <cstdlib>

#include "ocrcore/error.hpp"
#include "training/distributed/collective.hpp"

using namespace ocrcore;

TEST(WithoutMpi, StartedByMpirunWithSeveralProcessesSaysSoAndStops) {
  EXPECT_FALSE(train::built_with_mpi());
  ::setenv("OMPI_COMM_WORLD_SIZE", "4", 1);
  EXPECT_TRUE(train::started_by_mpi_launcher());
  try {
    train::join_job();
    ADD_FAILURE() << "joined a job of 4 without MPI";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("one of 4 processes, but this build has no MPI support"),
              std::string::npos)
        << e.what();
  }
  // One process under mpirun is a job of one.
  ::setenv("OMPI_COMM_WORLD_SIZE", "1", 1);
  EXPECT_EQ(train::join_job()->size(), 1);
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
  const auto alone = train::join_job();
  EXPECT_EQ(alone->size(), 1);
  EXPECT_EQ(alone->where(), "");
  double v[2] = {1.5, 2.5};
  alone->sum(v);
  EXPECT_EQ(v[1], 2.5);
}
