// An agent SIGKILL loop against the real Slurm test cluster (scripts/test-slurm.sh; the
// CTest fixture slurm_cluster starts it, or this test does when run alone). Slurm jobs
// outlive their agent: each federation job must keep its first attempt, run once in
// Slurm (one Slurm job per tag) and end exactly once. Needs root; skips otherwise.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "common/files.h"
#include "tests/chaos/chaos_fixture.h"
#include "tests/chaos/host_faults.h"

namespace aifed::chaos {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

const std::string kSite = "slurm-local";
const std::string kClusterDir = AIFED_SLURM_DIR;

class SlurmAgentKillTest : public ChaosTest {
 protected:
  static std::string slurmConf() { return kClusterDir + "/etc/slurm.conf"; }
  static Result<agent::CommandOutput> slurm(std::vector<std::string> argv) {
    agent::ProcessRunner runner;
    agent::Command cmd(std::move(argv));
    cmd.env["SLURM_CONF"] = slurmConf();
    cmd.timeout = 20s;
    return runner.run(cmd);
  }
  static void TearDownTestSuite() {
    if (owned_) (void)runCommand({sourcePath("scripts/test-slurm.sh"), "stop", kClusterDir}, 60s);
  }

  void SetUp() override {
    if (std::string why = whyNotRoot(); !why.empty()) GTEST_SKIP() << why;
    if (!runCommand({sourcePath("scripts/test-slurm.sh"), "status", kClusterDir}).ok()) {
      auto started = runCommand({sourcePath("scripts/test-slurm.sh"), "start", kClusterDir}, 180s);
      ASSERT_TRUE(started.ok()) << started.status().toString();
      owned_ = true;
    }
    (void)slurm({"scancel", "--quiet", "-u", "root"});
    cli::LocalFederationOptions o = chaosOptions();
    o.federation_file = sourcePath("tests/slurm/federation-slurm.toml");
    o.heartbeat_interval_ms = 500;
    o.retry_interval_ms = 1000;
    ASSERT_NO_FATAL_FAILURE(prepare(o));
    fs::create_directories(state_ / "jobs");
    writeAgentConfig();
    ASSERT_NO_FATAL_FAILURE(startCoordinator());
    ASSERT_NO_FATAL_FAILURE(startAgents());
  }

  // The launcher wrote a simulated agent; this site runs the Slurm backend.
  void writeAgentConfig() {
    Result<std::string> text = common::readFile(fed_->agentConfigPath(kSite));
    ASSERT_TRUE(text.ok());
    std::ofstream out(fed_->agentConfigPath(kSite), std::ios::trunc);
    out << text->substr(0, text->find("backend = ")) << "backend = \"slurm\"\n"
        << "log_level = \"debug\"\n\n[slurm]\n"
        << "slurm_conf = \"" << slurmConf() << "\"\n"
        << "partitions = [\"gpu\", \"cpu\"]\n"
        << "gpu_partitions = { h100 = \"gpu\" }\n"
        << "cpu_partition = \"cpu\"\n"
        << "workdir = \"" << (state_ / "jobs").string() << "\"\n"
        << "tag_prefix = \"" << tag_prefix_ << "\"\n"
        << "refresh_s = 0.5\n"
        << "command_timeout_s = 10\n";
  }

  static inline bool owned_ = false;
  // Each run its own tag: job ids start at j-1 in every test federation.
  std::string tag_prefix_ = "chaos" + std::to_string(getpid());
};

JobSpec sleeper(int n) {
  JobSpec s;
  s.project = "chaos";
  s.nodes = 1;
  s.gpus_per_node = 1;
  s.gpu_type = "h100";
  s.walltime = 120s;
  s.script = "#!/bin/bash\nsleep " + std::to_string(3 + n % 4) + "\n";
  return s;
}

TEST_F(SlurmAgentKillTest, JobsOutliveTheirAgentAndRunOnce) {
  startStream(1, sleeper, "slurm-chaos");
  for (int round = 0; round < 4; ++round) {
    std::this_thread::sleep_for(3s);
    killAgent(kSite);
    std::this_thread::sleep_for(1500ms);
    ASSERT_TRUE(fed_->startAgent(kSite).ok());
  }
  stream().stop();
  EXPECT_GE(stream().answered(201), 10);
  EXPECT_TRUE(waitDrained(150s)) << "not drained in 150 s";

  Result<agent::CommandOutput> squeue = slurm({"squeue", "--json"});
  ASSERT_TRUE(squeue.ok() && squeue->exit_code == 0) << "squeue failed";
  Result<std::vector<BackendJob>> backend = slurmBackendJobs(squeue->out, tag_prefix_, kSite);
  ASSERT_TRUE(backend.ok()) << backend.status().toString();
  for (const Submission& s : stream().submissions()) {
    if (s.http_status != 201) continue;
    json::value j = getJson("/api/v1/jobs/" + s.job_id);
    ASSERT_TRUE(j.is_object()) << s.job_id;
    EXPECT_EQ(j.at("attempt").as_int64(), 1) << s.job_id << " did not survive its agent: "
                                             << json::serialize(j);
  }
  CheckInput in = checkInput();
  in.agent_kills.clear();  // Slurm jobs do not die with the agent
  in.slurm_sites = {kSite};
  in.backend_jobs = *backend;
  check(in);
}

}  // namespace
}  // namespace aifed::chaos
