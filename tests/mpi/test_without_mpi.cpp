// The training job's entry compiled as a build without MPI compiles it: a
// tool started by mpirun as one of several processes says so and stops,
// rather than N processes each training alone into the same run directory;
// and the warning about a rank bound to fewer CPUs than its threads.

#include <gtest/gtest.h>
#include <sched.h>

#include <cstdlib>
#include <string>

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

TEST(CpuBinding, WarnsWhenThreadsOutnumberTheCpusTheProcessMayUse) {
  cpu_set_t all;
  ASSERT_EQ(sched_getaffinity(0, sizeof all, &all), 0);
  EXPECT_EQ(train::cpu_binding_warning(1), "");
  EXPECT_EQ(train::cpu_binding_warning(CPU_COUNT(&all)), "");
  // As mpirun binds a rank to one core.
  int first = 0;
  while (!CPU_ISSET(first, &all))
    ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  const std::string warning = train::cpu_binding_warning(4);
  sched_setaffinity(0, sizeof all, &all);
  EXPECT_NE(warning.find("may run on 1 CPU but was asked for 4 threads"), std::string::npos)
      << warning;
  EXPECT_NE(warning.find("--bind-to none"), std::string::npos) << warning;
}
