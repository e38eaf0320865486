// The Slurm integration tests' fixture: the shared test cluster (scripts/test-slurm.sh)
// and a real coordinator with one agent on the Slurm backend.
#pragma once

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

namespace aifed::slurm_test {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using agent::SlurmBackend;

const std::string kSite = "slurm-local";

inline std::string sourcePath(const std::string& rel) {
  return std::string(AIFED_SOURCE_DIR) + "/" + rel;
}

inline agent::CommandOutput runScript(const std::vector<std::string>& args, Duration timeout = 120s) {
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
    for (const char* user : {"root", "aifed-alice", "aifed-bob"}) {
      (void)c.slurm({"scancel", "--quiet", "-u", user});
    }
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
        << "use_sacct = true\n"
        << "[[slurm.probe]]\ngpu_type = \"h100\"\nnodes = 1\ngpus_per_node = 4\n"
        << extraAgentConfig();
  }
  // Added to the agent's config after [slurm] (a test's [rules], [identity]).
  virtual std::string extraAgentConfig() const { return ""; }
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

}  // namespace aifed::slurm_test
