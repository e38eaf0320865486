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

#include "tests/slurm/slurm_fixture.h"

namespace aifed::slurm_test {
namespace {

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
}  // namespace aifed::slurm_test
