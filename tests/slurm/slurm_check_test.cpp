// Issue 17: `aifed-agent --check` on a Slurm site, against the real test cluster
// (scripts/test-slurm.sh): the good configuration passes with Slurm's own commands
// (sinfo, squeue, `sbatch --test-only` into each configured partition); a wrong
// partition FAILs naming `sbatch --test-only` and Slurm's reason. Nothing is submitted.
//
// Needs root (the cluster); skips with a message otherwise.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "protocol/transport/curve_keys.h"
#include "tests/slurm/slurm_fixture.h"
#include "tests/store/test_dir.h"

namespace aifed::slurm_test {
namespace {

using testing_support::TestDir;

class SlurmCheckTest : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { SlurmCluster::get().stopIfOwned(); }

  void SetUp() override {
    SlurmCluster& c = SlurmCluster::get();
    if (!c.unusable().empty()) {
      if (c.failedToStart()) FAIL() << c.unusable();
      GTEST_SKIP() << c.unusable();
    }
    auto site = transport::generateCurveKeyPair();
    auto coordinator = transport::generateCurveKeyPair();
    ASSERT_TRUE(site.ok() && coordinator.ok());
    ASSERT_TRUE(transport::writeKeyPair(*site, dir_.file("keys"), kSite).ok());
    coordinator_key_ = coordinator->public_key;
  }

  // The agent's config with `cpu_partition`; returns its path.
  std::string config(const std::string& cpu_partition) {
    std::string path = dir_.file("agent-" + cpu_partition + ".toml");
    std::ofstream(path) << "site = \"" << kSite << "\"\n"
                        << "coordinator = \"tcp://127.0.0.1:7781\"\n"
                        << "coordinator_public_key = \"" << coordinator_key_ << "\"\n"
                        << "key_file = \"keys/" << kSite << ".key\"\n"
                        << "state_db = \"state/agent.db\"\n"
                        << "backend = \"slurm\"\n\n[slurm]\n"
                        << "slurm_conf = \"" << SlurmCluster::get().slurmConf() << "\"\n"
                        << "partitions = [\"gpu\", \"cpu\"]\n"
                        << "gpu_partitions = { h100 = \"gpu\" }\n"
                        << "cpu_partition = \"" << cpu_partition << "\"\n"
                        << "command_timeout_s = 10\n";
    return path;
  }

  // The real aifed-agent --check; its exit code and output.
  std::pair<int, std::string> check(const std::string& config_path) {
    agent::ProcessRunner runner;
    agent::Command cmd{
        {std::string(AIFED_BINARY_DIR) + "/site-agent/aifed-agent", "--check", "-c", config_path}};
    cmd.timeout = 60s;
    auto out = runner.run(cmd);
    if (!out.ok()) return {-1, out.status().toString()};
    return {out->exit_code, out->out + out->err};
  }

  TestDir dir_;
  std::string coordinator_key_;
};

TEST_F(SlurmCheckTest, GoodConfigPassesWithSlurmsOwnCommands) {
  size_t jobs_before = SlurmCluster::get().jobs().size();
  auto [code, output] = check(config("cpu"));
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("ok   sinfo/squeue as "), std::string::npos) << output;
  EXPECT_NE(output.find("ok   sbatch --test-only (CPU job, partition cpu) as "), std::string::npos)
      << output;
  EXPECT_NE(output.find("ok   sbatch --test-only (h100 GPU job, partition gpu) as "),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("would start: site \"" + kSite + "\", backend slurm (partitions gpu, cpu)"),
            std::string::npos)
      << output;
  EXPECT_EQ(SlurmCluster::get().jobs().size(), jobs_before) << "--test-only submits nothing";
  EXPECT_FALSE(fs::exists(dir_.file("state"))) << "--check creates no state database";
}

TEST_F(SlurmCheckTest, WrongPartitionFailsNamingSbatchTestOnly) {
  auto [code, output] = check(config("nosuch"));
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("FAIL sbatch --test-only (CPU job, partition nosuch) as "),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("Slurm would not run this shape"), std::string::npos) << output;
  EXPECT_NE(output.find("would not start: 1 check FAILed"), std::string::npos) << output;
}

}  // namespace
}  // namespace aifed::slurm_test
