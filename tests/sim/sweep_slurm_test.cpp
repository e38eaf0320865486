// aifed-sim sweep on a real Slurm: the job-array script, merge script and submit script
// the sweep writes are submitted to the test cluster of scripts/test-slurm.sh (CTest's
// fixture "slurm_cluster" starts it; run alone, this test starts and stops one itself).
// Every point runs as an array task; the merge step runs after them (afterok) and its
// sweep.csv must hold every point, byte-identical to a local run of the same manifest.
//
// Needs root (slurmd runs jobs as their owner); skips with a message otherwise.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include "sim/sweep.h"
#include "site-agent/backends/process.h"
#include "tests/common/test_files.h"

namespace aifed::sim {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

agent::CommandOutput run(std::vector<std::string> argv, const std::string& slurm_conf = "",
                         Duration timeout = 120s) {
  agent::ProcessRunner runner;
  agent::Command cmd{std::move(argv)};
  if (!slurm_conf.empty()) cmd.env["SLURM_CONF"] = slurm_conf;
  cmd.timeout = timeout;
  Result<agent::CommandOutput> out = runner.run(cmd);
  if (!out.ok()) return {-1, "", out.status().toString()};
  return *out;
}

const std::string kScript = AIFED_SOURCE_DIR "/scripts/test-slurm.sh";

class sim_sweep : public ::testing::Test {  // NOLINT: the CTest name is slurm.sim_sweep.*
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "the Slurm integration tests need root (slurmd runs jobs as their "
                      "owner); run `sudo ./aifed.sh test` or scripts/test-slurm.sh as root";
    }
    if (run({kScript, "status", cluster_}).exit_code != 0) {
      agent::CommandOutput started = run({kScript, "start", cluster_}, "", 300s);
      ASSERT_EQ(started.exit_code, 0) << "scripts/test-slurm.sh start failed: " << started.err;
      owned_ = true;
    }
  }
  void TearDown() override {
    if (owned_) run({kScript, "stop", cluster_});
  }
  std::string slurmConf() const { return cluster_ + "/etc/slurm.conf"; }

  // State of a job ("COMPLETED", "PENDING", ...; "" when Slurm does not know it).
  std::string state(const std::string& job) {
    agent::CommandOutput out =
        run({"squeue", "-h", "--states=all", "-j", job, "-o", "%T %r"}, slurmConf(), 20s);
    return out.exit_code == 0 ? out.out : "";
  }

  std::string cluster_ = AIFED_SLURM_DIR;
  bool owned_ = false;
};

TEST_F(sim_sweep, JobArrayAndMergeStepOnTheTestCluster) {
  fs::path dir = fs::path(AIFED_BINARY_DIR) / "tests/sim/sweep-slurm";
  fs::remove_all(dir);
  RunArgs base;
  base.federation = AIFED_SOURCE_DIR "/tests/data/federation-3.toml";
  base.synthetic = 100;
  base.load = 1.2;
  base.skip_unplaceable = true;
  Result<SweepManifest> m = makeManifest(
      base, {{"earliest-start.weight.load", {"0", "1"}}, {"sched", {"easy", "conservative"}}});
  ASSERT_TRUE(m.ok()) << m.status().toString();
  ASSERT_TRUE(writeManifest(*m, (dir / "manifest.json").string()).ok());
  SlurmScriptOptions o;
  o.script = (dir / "sweep.sbatch").string();
  o.sim_binary = AIFED_SIM_BINARY;
  o.sbatch_options = {"--time=00:10:00"};
  Result<SlurmScripts> scripts = writeSlurmScripts(*m, dir.string(), o);
  ASSERT_TRUE(scripts.ok()) << scripts.status().toString();

  agent::CommandOutput submitted = run({scripts->submit_script}, slurmConf(), 60s);
  ASSERT_EQ(submitted.exit_code, 0) << submitted.out << submitted.err;
  std::smatch ids;
  ASSERT_TRUE(std::regex_search(submitted.out, ids, std::regex(R"(array=(\d+) merge=(\d+))")))
      << submitted.out;
  std::string array = ids[1], merge = ids[2];

  // The merge job ends COMPLETED once every task did; give up after 5 minutes.
  std::string merge_state;
  auto deadline = std::chrono::steady_clock::now() + 300s;
  while (std::chrono::steady_clock::now() < deadline) {
    merge_state = state(merge);
    if (merge_state.rfind("COMPLETED", 0) == 0 || merge_state.rfind("FAILED", 0) == 0 ||
        merge_state.rfind("CANCELLED", 0) == 0 ||
        merge_state.find("DependencyNeverSatisfied") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(1s);
  }
  if (merge_state.rfind("COMPLETED", 0) != 0) {
    run({"scancel", array, merge}, slurmConf(), 20s);
    std::string logs;
    for (const auto& e : fs::directory_iterator(dir / "logs")) {
      logs += e.path().filename().string() + ":\n" + testing_support::readTestFile(e.path()) + "\n";
    }
    FAIL() << "merge job " << merge << " is '" << merge_state << "'; array: " << state(array)
           << "\n"
           << logs;
  }
  // Every task of the array completed, each with its log.
  std::istringstream tasks(state(array));
  int completed = 0;
  for (std::string line; std::getline(tasks, line);) completed += line.rfind("COMPLETED", 0) == 0;
  EXPECT_EQ(completed, 4) << state(array);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(fs::exists(dir / "logs" / (array + "_" + std::to_string(i) + ".out"))) << i;
  }

  std::string csv = testing_support::readTestFile(dir / "sweep.csv");
  std::istringstream in(csv);
  std::vector<std::string> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 5u) << csv;
  EXPECT_EQ(rows[0].rfind("point,earliest-start.weight.load,sched,policy,jobs,", 0), 0u);
  EXPECT_EQ(rows[1].rfind("p0000,0,easy,earliest-start,100,", 0), 0u) << rows[1];
  EXPECT_EQ(rows[2].rfind("p0001,0,conservative,", 0), 0u) << rows[2];
  EXPECT_EQ(rows[3].rfind("p0002,1,easy,", 0), 0u) << rows[3];
  EXPECT_EQ(rows[4].rfind("p0003,1,conservative,", 0), 0u) << rows[4];

  // The cluster's result is the local one, byte for byte.
  fs::path local = fs::path(AIFED_BINARY_DIR) / "tests/sim/sweep-slurm-local";
  fs::remove_all(local);
  ASSERT_TRUE(writeManifest(*m, (local / "manifest.json").string()).ok());
  ASSERT_TRUE(runLocal(*m, local.string(), AIFED_SIM_BINARY, 2).ok());
  EXPECT_EQ(testing_support::readTestFile(local / "sweep.csv"), csv);
  EXPECT_EQ(testing_support::readTestFile(local / "sweep.json"),
            testing_support::readTestFile(dir / "sweep.json"));
  fs::remove_all(local);
}

}  // namespace
}  // namespace aifed::sim
