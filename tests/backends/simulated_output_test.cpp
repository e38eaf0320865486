// A simulated site's jobs write real output files (simulated_output.h): where, what, when.
#include "site-agent/backends/simulated_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "site-agent/backends/simulated_backend.h"
#include "tests/common/test_files.h"
#include "tests/store/test_dir.h"

namespace aifed::agent {
namespace {

using std::chrono::minutes;
using ::testing::ElementsAre;
using testing_support::readTestFile;

Time at(int minute) {
  return fromMillis(1'800'000'000'000) + minutes(minute);
}

class SimulatedOutputTest : public ::testing::Test {
 protected:
  std::unique_ptr<SimulatedBackend> backend() {
    SimulatedBackendOptions o;
    o.output_dir = dir_.file("output");
    o.site = "mimer";
    auto sim = SimulatedBackend::create({{"gpu", 4, NodeType{"h100", 4, 64, 512}}}, o);
    EXPECT_TRUE(sim.ok()) << sim.status().toString();
    return std::move(*sim);
  }
  static JobSpec spec(int runtime_min, int exit_code = 0) {
    JobSpec s;
    s.nodes = 2;
    s.walltime = minutes(60);
    s.simulated_runtime = minutes(runtime_min);
    s.simulated_exit_code = exit_code;
    s.script = "#!/bin/bash\necho \"hello from $HOSTNAME\"\nsrun python train.py\n  echo done\n";
    return s;
  }
  testing_support::TestDir dir_;
};

TEST_F(SimulatedOutputTest, AJobWritesItsOutputWhenItStartsAndEnds) {
  auto sim = backend();
  Result<SubmittedJob> job = sim->submit({"j-12", 1}, spec(30), {}, at(0));
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->local_id, "sim-1");
  EXPECT_EQ(job->stdout_path, dir_.file("output/j-12-1.out"));
  EXPECT_EQ(job->stderr_path, dir_.file("output/j-12-1.err"));
  (void)sim->poll(at(1));  // started at once
  EXPECT_EQ(readTestFile(job->stdout_path),
            "aifed simulated site mimer: job j-12 attempt 1\n"
            "started 2027-01-15T08:00:00Z on 2 nodes of partition gpu\n"
            "hello from $HOSTNAME\n"
            "done\n");
  (void)sim->poll(at(31));
  EXPECT_THAT(readTestFile(job->stdout_path),
              ::testing::EndsWith("ended 2027-01-15T08:30:00Z: completed, exit code 0\n"));
  EXPECT_EQ(readTestFile(job->stderr_path), "");
  // A repeated submit names the same files.
  EXPECT_EQ(sim->submit({"j-12", 1}, spec(30), {}, at(40))->stdout_path, job->stdout_path);
}

TEST_F(SimulatedOutputTest, AFailedJobSaysWhyOnStderr) {
  auto sim = backend();
  Result<SubmittedJob> job = sim->submit({"j-13", 2}, spec(5, 3), {}, at(0));
  (void)sim->poll(at(10));
  EXPECT_EQ(readTestFile(job->stderr_path),
            "aifed simulated site mimer: job j-13 attempt 2 failed, exit code 3\n");
}

TEST_F(SimulatedOutputTest, AJobIdNeverNamesAnotherDirectory) {
  SimulatedOutput out(dir_.file("output"), "mimer");
  EXPECT_EQ(out.paths({"../../etc/passwd", 1}).stdout_path,
            dir_.file("output/_.._.._etc_passwd-1.out"));
}

TEST_F(SimulatedOutputTest, NoOutputDirNoFiles) {
  auto sim = SimulatedBackend::create({{"gpu", 4, NodeType{"h100", 4, 64, 512}}}, {});
  Result<SubmittedJob> job = (*sim)->submit({"j-1", 1}, spec(1), {}, at(0));
  EXPECT_EQ(job->stdout_path, "");
  EXPECT_EQ(job->stderr_path, "");
}

TEST(EchoLinesTest, WhatEchoPrints) {
  EXPECT_THAT(echoLines("echo a\n echo 'b c'\necho\nprintf x\necho \"d\"\r\nechoes\n"),
              ElementsAre("a", "b c", "", "d"));
}

}  // namespace
}  // namespace aifed::agent
