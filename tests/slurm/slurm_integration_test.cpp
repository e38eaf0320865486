// The Slurm backend against a real Slurm: slurmctld + slurmd on this machine, started
// by scripts/test-slurm.sh (CTest's fixture "slurm_cluster" starts it once per run; run
// alone, this binary starts and stops one itself). A real coordinator and a real agent
// on loopback with CURVE, as in production: jobs go in through the REST API, run in
// Slurm, and their end comes back through the agent.
//
// Needs root (slurmd runs jobs as their owner); skips with a message otherwise.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/http_client.h"
#include "cli/local_federation.h"
#include "protocol/codec.h"
#include "site-agent/backends/process.h"
#include "site-agent/backends/slurm_backend.h"
#include "tests/common/test_files.h"
#include "tests/integration/local_federation_test.h"

namespace aifed {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using agent::SlurmBackend;

const std::string kSite = "slurm-local";

std::string sourcePath(const std::string& rel) {
  return std::string(AIFED_SOURCE_DIR) + "/" + rel;
}

agent::CommandOutput runScript(const std::vector<std::string>& args, Duration timeout = 120s) {
  agent::ProcessRunner runner;
  agent::Command cmd{{sourcePath("scripts/test-slurm.sh")}};
  cmd.argv.insert(cmd.argv.end(), args.begin(), args.end());
  cmd.timeout = timeout;
  auto out = runner.run(cmd);
  if (!out.ok()) return {-1, "", out.status().toString()};
  return *out;
}

// The test cluster, shared by every test of this process.
class SlurmCluster {
 public:
  static SlurmCluster& get() {
    static SlurmCluster cluster;
    return cluster;
  }
  const std::string& dir() const { return dir_; }
  std::string slurmConf() const { return dir_ + "/etc/slurm.conf"; }
  // Empty if usable; else why not (the tests skip with it).
  const std::string& unusable() const { return unusable_; }
  bool failedToStart() const { return failed_; }

  // Runs a Slurm command against the cluster.
  agent::CommandOutput slurm(std::vector<std::string> argv) const {
    agent::ProcessRunner runner;
    agent::Command cmd{std::move(argv)};
    cmd.env["SLURM_CONF"] = slurmConf();
    cmd.timeout = 20s;
    auto out = runner.run(cmd);
    if (!out.ok()) return {-1, "", out.status().toString()};
    return *out;
  }
  std::vector<SlurmBackend::SlurmJob> jobs() const {
    auto out = slurm({"squeue", "--json"});
    if (out.exit_code != 0) return {};
    auto parsed = SlurmBackend::parseSqueue(out.out);
    return parsed.ok() ? *parsed : std::vector<SlurmBackend::SlurmJob>{};
  }
  // Slurm jobs carrying this federation job's tag (the agent's never-twice rule).
  std::vector<SlurmBackend::SlurmJob> tagged(const std::string& prefix,
                                             const std::string& job_id) const {
    std::vector<SlurmBackend::SlurmJob> out;
    for (auto& j : jobs()) {
      if (j.comment.rfind(prefix + ":" + job_id + ":", 0) == 0 && !j.refused) out.push_back(j);
    }
    return out;
  }
  void stopIfOwned() {
    if (owned_) runScript({"stop", dir_});
    owned_ = false;
  }

 private:
  SlurmCluster() : dir_(AIFED_SLURM_DIR) {
    if (geteuid() != 0) {
      unusable_ =
          "the Slurm integration tests need root (slurmd runs jobs as their owner); run "
          "`sudo ./aifed.sh test` or scripts/test-slurm.sh as root";
      return;
    }
    if (runScript({"status", dir_}).exit_code == 0) return;  // CTest's fixture started it
    agent::CommandOutput started = runScript({"start", dir_});
    if (started.exit_code != 0) {
      if (access("/usr/sbin/slurmctld", X_OK) != 0) {
        unusable_ = "Slurm is not installed and could not be installed here: " + started.err;
      } else {
        failed_ = true;
        unusable_ = "scripts/test-slurm.sh start " + dir_ + " failed: " + started.err;
      }
      return;
    }
    owned_ = true;
  }

  std::string dir_;
  std::string unusable_;
  bool failed_ = false;
  bool owned_ = false;
};

class SlurmIntegrationTest : public testing::LocalFederationTest {
 protected:
  static void TearDownTestSuite() { SlurmCluster::get().stopIfOwned(); }

  void SetUp() override {
    SlurmCluster& c = SlurmCluster::get();
    if (!c.unusable().empty()) {
      if (c.failedToStart()) FAIL() << c.unusable();
      GTEST_SKIP() << c.unusable();
    }
    // No job of an earlier test may hold the node.
    (void)c.slurm({"scancel", "--quiet", "-u", "root"});
    ASSERT_TRUE(waitFor(
        [&] {
          for (const auto& j : c.jobs()) {
            auto s = SlurmBackend::mapState(j.state);
            if (s && !isTerminal(*s)) return false;
          }
          return true;
        },
        30s));

    cli::LocalFederationOptions o;
    o.federation_file = sourcePath("tests/slurm/federation-slurm.toml");
    o.heartbeat_interval_ms = 500;
    o.retry_interval_ms = 1000;
    o.log_level = "debug";
    ASSERT_NO_FATAL_FAILURE(prepareFederation("aifed-slurm-it", std::move(o)));
    fs::create_directories(state_ / "jobs");
    writeAgentConfig();
    ASSERT_NO_FATAL_FAILURE(startCoordinator());
    startAgent();
  }

  // The launcher wrote a simulated agent; this site runs the Slurm backend instead.
  void writeAgentConfig() {
    std::string text = testing_support::readTestFile(fed_->agentConfigPath(kSite));
    text = text.substr(0, text.find("backend = "));
    std::ofstream out(fed_->agentConfigPath(kSite), std::ios::trunc);
    out << text << "backend = \"slurm\"\nlog_level = \"debug\"\n\n"
        << "[slurm]\n"
        << "slurm_conf = \"" << SlurmCluster::get().slurmConf() << "\"\n"
        << "partitions = [\"gpu\", \"cpu\"]\n"
        << "gpu_partitions = { h100 = \"gpu\" }\n"
        << "cpu_partition = \"cpu\"\n"
        << "workdir = \"" << (state_ / "jobs").string() << "\"\n"
        << "tag_prefix = \"" << tag_prefix_ << "\"\n"
        << "refresh_s = 0.5\n"
        << "command_timeout_s = 10\n"
        << "[[slurm.probe]]\ngpu_type = \"h100\"\nnodes = 1\ngpus_per_node = 4\n";
  }
  void startAgent() {
    ASSERT_TRUE(fed_->startAgent(kSite).ok());
    ASSERT_TRUE(waitFor([&] { return site().at("state").as_string() == "up"; }, 20s))
        << "the Slurm site did not come up; see " << fed_->logPath(kSite);
  }

  bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return done();
  }
  json::value get(const std::string& target) {
    auto r = client_->request("GET", target, "");
    if (!r.ok() || r->status != 200) return json::object{};
    return json::parse(r->body);
  }
  json::object site() {
    json::value v = get("/api/v1/sites/" + kSite);
    return v.is_object() ? v.as_object() : json::object{};
  }
  json::object job(const std::string& id) {
    json::value v = get("/api/v1/jobs/" + id);
    return v.is_object() ? v.as_object() : json::object{};
  }
  std::string state(const std::string& id) {
    json::object j = job(id);
    return j.contains("state") ? std::string(j.at("state").as_string()) : "";
  }
  bool waitState(const std::string& id, const std::string& want, std::chrono::milliseconds limit) {
    return waitFor([&] { return state(id) == want; }, limit);
  }
  JobSpec spec(const std::string& script, Duration walltime = 60s) {
    JobSpec s;
    s.name = "slurm-it";
    s.project = "it";
    s.nodes = 1;
    s.gpus_per_node = 1;
    s.gpu_type = "h100";
    s.walltime = walltime;
    s.script = "#!/bin/bash\n" + script + "\n";
    return s;
  }
  std::string submit(const JobSpec& s) {
    auto r = client_->request("POST", "/api/v1/jobs", json::serialize(toJson(s)));
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return "";
    EXPECT_EQ(r->status, 201) << r->body;
    if (r->status != 201) return "";
    return std::string(json::parse(r->body).at("id").as_string());
  }
  std::string slurmState(const std::string& local_id) {
    for (const auto& j : SlurmCluster::get().jobs()) {
      if (j.id == local_id) return j.state;
    }
    return "";
  }

  std::vector<SlurmBackend::SlurmJob> tagged(const std::string& job_id) {
    return SlurmCluster::get().tagged(tag_prefix_, job_id);
  }

  // Every test starts a fresh coordinator, whose job ids start again at j-1, on the
  // same Slurm: its own tag prefix keeps one test's jobs from looking like another's
  // (as two federations sharing one Slurm would need, see docs/slurm.md).
  std::string tag_prefix_ = "it" + std::to_string(getpid()) + "-" +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name();
};

TEST_F(SlurmIntegrationTest, SlurmCapacityReportMatchesSinfo) {
  // sinfo's own view, one line per partition: name, nodes, GRES, CPUs, memory (MiB).
  auto out = SlurmCluster::get().slurm({"sinfo", "-h", "-o", "%R %D %G %c %m %T"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  std::map<std::string, std::vector<std::string>> sinfo;
  std::istringstream lines(out.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream f(line);
    std::vector<std::string> cols;
    for (std::string c; f >> c;) cols.push_back(c);
    ASSERT_EQ(cols.size(), 6u) << line;
    sinfo[cols[0]] = cols;
  }
  ASSERT_TRUE(waitFor([&] { return site().at("partitions").as_array().size() == 2; }, 10s));
  json::object s = site();
  EXPECT_FALSE(s.at("degraded").as_bool());
  for (const auto& pv : s.at("partitions").as_array()) {
    const json::object& p = pv.as_object();
    std::string name(p.at("name").as_string());
    ASSERT_TRUE(sinfo.count(name)) << name << " is not in sinfo";
    const auto& cols = sinfo[name];
    EXPECT_EQ(p.at("nodes_total").as_int64(), std::stoi(cols[1])) << name;
    EXPECT_EQ(cols[2], "gpu:h100:4");
    const json::object& nt = p.at("node_type").as_object();
    EXPECT_EQ(nt.at("accelerator").as_string(), "h100") << name;
    EXPECT_EQ(nt.at("accelerators_per_node").as_int64(), 4) << name;
    EXPECT_EQ(nt.at("cores").as_int64(), std::stoi(cols[3])) << name;
    EXPECT_EQ(nt.at("memory_gib").as_int64(), std::stoi(cols[4]) / 1024) << name;
    if (cols[5] == "idle") {
      EXPECT_EQ(p.at("nodes_idle").as_int64(), std::stoi(cols[1])) << name;
    }
  }
  EXPECT_EQ(s.at("accelerators_total").as_int64(), 8);  // one 4-GPU node in two partitions

  // The probe shape's start estimate (sbatch --test-only) reaches the coordinator with
  // the gpu partition's capacity: a 1-node x 4-GPU job could start at once on this
  // otherwise idle cluster (allow a few seconds of Slurm's scheduling granularity).
  ASSERT_TRUE(waitFor(
      [&] {
        json::object now = site();  // keep it alive for the loop
        for (const auto& pv : now.at("partitions").as_array()) {
          const json::object& p = pv.as_object();
          if (p.at("name").as_string() == "gpu" && p.contains("start_estimates")) return true;
        }
        return false;
      },
      10s));
  json::object reported = site();
  for (const auto& pv : reported.at("partitions").as_array()) {
    const json::object& p = pv.as_object();
    if (p.at("name").as_string() != "gpu") continue;
    const json::array& est = p.at("start_estimates").as_array();
    ASSERT_EQ(est.size(), 1u);
    EXPECT_EQ(est[0].at("nodes").as_int64(), 1);
    EXPECT_EQ(est[0].at("gpus_per_node").as_int64(), 4);
    EXPECT_LE(est[0].at("start_in_s").to_number<double>(), 5.0);
  }
}

TEST_F(SlurmIntegrationTest, JobSubmittedThroughTheCoordinatorRunsInSlurmAndCompletes) {
  JobSpec s = spec("echo \"$AIFED_JOB_ID/$AIFED_ATTEMPT $GREETING\" > result.txt; sleep 2");
  s.env = {{"GREETING", "hello, slurm"}};
  std::string id = submit(s);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(waitState(id, "completed", 60s))
      << json::serialize(job(id)) << "; see " << fed_->logPath(kSite);
  json::object j = job(id);
  EXPECT_EQ(j.at("exit_code").as_int64(), 0);
  EXPECT_EQ(j.at("attempt").as_int64(), 1);
  std::string local(j.at("local_id").as_string());
  EXPECT_EQ(slurmState(local), "COMPLETED");
  auto jobs_with_tag = tagged(id);
  ASSERT_EQ(jobs_with_tag.size(), 1u);
  EXPECT_EQ(jobs_with_tag[0].id, local);
  EXPECT_EQ(jobs_with_tag[0].partitions, std::vector<std::string>{"gpu"});
  std::ifstream result(state_ / "jobs" / "result.txt");
  std::string line;
  std::getline(result, line);
  EXPECT_EQ(line, id + "/1 hello, slurm");
}

TEST_F(SlurmIntegrationTest, FailingScriptEndsFailedWithItsExitCode) {
  std::string id = submit(spec("echo about to fail; exit 7"));
  ASSERT_TRUE(waitState(id, "failed", 60s)) << json::serialize(job(id));
  EXPECT_EQ(job(id).at("exit_code").as_int64(), 7);
  EXPECT_EQ(slurmState(std::string(job(id).at("local_id").as_string())), "FAILED");
}

TEST_F(SlurmIntegrationTest, CancelThroughAifedCancelsInSlurm) {
  std::string id = submit(spec("sleep 120"));
  ASSERT_TRUE(waitState(id, "running", 60s)) << json::serialize(job(id));
  std::string local(job(id).at("local_id").as_string());
  EXPECT_EQ(slurmState(local), "RUNNING");
  auto r = client_->request("POST", "/api/v1/jobs/" + id + "/cancel", "");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;
  ASSERT_TRUE(waitState(id, "cancelled", 30s)) << json::serialize(job(id));
  ASSERT_TRUE(waitFor([&] { return slurmState(local) == "CANCELLED"; }, 15s)) << slurmState(local);
}

TEST_F(SlurmIntegrationTest, JobOverItsWalltimeEndsTimeout) {
  // Slurm's smallest limit is one minute; OverTimeLimit=0 and KillWait=2 in the test
  // cluster make the kill come within Slurm's 30 s time-limit sweep after it.
  std::string id = submit(spec("sleep 300", 60s));
  ASSERT_TRUE(waitState(id, "running", 60s)) << json::serialize(job(id));
  ASSERT_TRUE(waitState(id, "timeout", 150s)) << json::serialize(job(id));
  EXPECT_EQ(slurmState(std::string(job(id).at("local_id").as_string())), "TIMEOUT");
}

TEST_F(SlurmIntegrationTest, AgentKilledWhileItsJobRunsNeitherLosesNorResubmitsIt) {
  std::string id = submit(spec("sleep 6"));
  ASSERT_TRUE(waitState(id, "running", 60s)) << json::serialize(job(id));
  std::string local(job(id).at("local_id").as_string());
  ASSERT_TRUE(fed_->stopAgent(kSite, SIGKILL).ok());
  // The job ends in Slurm while the agent is away.
  ASSERT_TRUE(waitFor([&] { return slurmState(local) == "COMPLETED"; }, 30s)) << slurmState(local);
  EXPECT_EQ(state(id), "running");  // the coordinator could not know yet
  startAgent();
  ASSERT_TRUE(waitState(id, "completed", 30s))
      << json::serialize(job(id)) << "; see " << fed_->logPath(kSite);
  json::object j = job(id);
  EXPECT_EQ(j.at("attempt").as_int64(), 1);
  EXPECT_EQ(std::string(j.at("local_id").as_string()), local);
  EXPECT_EQ(tagged(id).size(), 1u) << "submitted twice";
}

TEST_F(SlurmIntegrationTest, AgentRestartBeforeTheJobStartsKeepsOneSlurmJob) {
  // Fill the GPUs so the next job waits in Slurm's queue, then restart the agent twice.
  std::string blocker = submit([&] {
    JobSpec s = spec("sleep 8");
    s.gpus_per_node = 4;
    return s;
  }());
  ASSERT_TRUE(waitState(blocker, "running", 60s));
  std::string id = submit([&] {
    JobSpec s = spec("true");
    s.gpus_per_node = 4;
    return s;
  }());
  ASSERT_TRUE(waitState(id, "pending", 30s)) << json::serialize(job(id));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(fed_->stopAgent(kSite, SIGKILL).ok());
    startAgent();
  }
  ASSERT_TRUE(waitState(id, "completed", 60s)) << json::serialize(job(id));
  EXPECT_EQ(tagged(id).size(), 1u) << "submitted twice";
  EXPECT_EQ(tagged(blocker).size(), 1u) << "submitted twice";
}

TEST_F(SlurmIntegrationTest, SlurmctldRestartDuringARunDegradesTheSiteThenRecovers) {
  std::string id = submit(spec("sleep 12"));
  ASSERT_TRUE(waitState(id, "running", 60s)) << json::serialize(job(id));
  const std::string dir = SlurmCluster::get().dir();
  ASSERT_EQ(runScript({"stop-ctld", dir}).exit_code, 0);
  ASSERT_TRUE(waitFor([&] { return site().at("degraded").as_bool(); }, 30s))
      << json::serialize(site());
  std::string reason(site().at("degraded_reason").as_string());
  EXPECT_NE(reason.find("Slurm is not answering"), std::string::npos) << reason;
  EXPECT_EQ(state(id), "running");  // nothing is given up while Slurm is away
  auto restarted = runScript({"start-ctld", dir});
  ASSERT_EQ(restarted.exit_code, 0) << restarted.err;
  ASSERT_TRUE(waitFor([&] { return !site().at("degraded").as_bool(); }, 30s))
      << json::serialize(site());
  ASSERT_TRUE(waitState(id, "completed", 60s)) << json::serialize(job(id));
  EXPECT_EQ(tagged(id).size(), 1u);
  // And the site takes new work again.
  std::string next = submit(spec("true"));
  ASSERT_TRUE(waitState(next, "completed", 60s)) << json::serialize(job(next));
}

TEST_F(SlurmIntegrationTest, JobSlurmRefusesIsRejectedWithSlurmsReason) {
  // The gpu partition's MaxTime is one day and the cluster enforces partition limits at
  // submission: the coordinator cannot know that, Slurm refuses, the agent says why.
  std::string id = submit(spec("true", std::chrono::hours(48)));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(waitFor(
      [&] {
        json::object j = job(id);
        return j.contains("reason") &&
               std::string(j.at("reason").as_string()).find("time limit") != std::string::npos;
      },
      30s))
      << json::serialize(job(id));
  EXPECT_TRUE(tagged(id).empty());
}

TEST_F(SlurmIntegrationTest, StartEstimateForAProbeShapeComesFromSlurm) {
  agent::SlurmOptions o;
  o.slurm_conf = SlurmCluster::get().slurmConf();
  o.gpu_partitions = {{"h100", "gpu"}};
  auto backend = SlurmBackend::create(o, std::make_unique<agent::ProcessRunner>());
  ASSERT_TRUE(backend.ok());
  auto before = std::chrono::system_clock::now();
  // The node is free: a 4-GPU job would start now.
  JobSpec shape = spec("true");
  shape.gpus_per_node = 4;
  auto at = (*backend)->estimateStart(shape);
  ASSERT_TRUE(at.ok()) << at.status().toString();
  EXPECT_LT(std::chrono::abs(*at - std::chrono::time_point_cast<Duration>(before)), 60s);
  // Nine GPUs per node exist nowhere: Slurm says so.
  shape.gpus_per_node = 9;
  auto never = (*backend)->estimateStart(shape);
  ASSERT_FALSE(never.ok());
  EXPECT_NE(never.status().message().find("Requested node configuration is not available"),
            std::string::npos)
      << never.status().toString();
  EXPECT_TRUE(SlurmCluster::get().jobs().empty() ||
              SlurmCluster::get().jobs().back().comment.find("probe") == std::string::npos);
}

}  // namespace
}  // namespace aifed
