// Issue 17: the real binaries' `--check` and `--version`. `aifed-coordinator --check`
// and `aifed-agent --check` on a good and a broken configuration: the exit code, the
// FAIL line, the last line, and every file of the state directory left as it was (no
// database created, migrated or touched: contents and modification times compared).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cli/local_federation.h"
#include "common/files.h"
#include "tests/store/test_dir.h"

namespace aifed::coordinator {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing_support::TestDir;

struct Outcome {
  int exit_code = -1;  // -1: still running after `ready` appeared (then stopped)
  std::string output;
};

// Runs `binary` (relative to the build directory) with `args`, stdout and stderr to
// `log`, until it exits or `ready` appears.
Outcome run(const std::string& binary, std::vector<std::string> args, const std::string& log,
            const std::string& ready = "") {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* out = std::freopen(log.c_str(), "w", stdout);
    (void)out;
    dup2(fileno(stdout), STDERR_FILENO);
    args.insert(args.begin(), std::string(AIFED_BINARY_DIR) + "/" + binary);
    std::vector<char*> c;
    for (std::string& a : args) c.push_back(a.data());
    c.push_back(nullptr);
    execv(c[0], c.data());
    _exit(127);
  }
  Outcome r;
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
      r.output = common::readFile(log).value();
      return r;
    }
    if (!ready.empty() && fs::exists(ready)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGTERM);
  waitpid(pid, &status, 0);
  r.output = common::readFile(log).value();
  return r;
}

// Every file under `dir`: its content and modification time.
using Snapshot = std::map<std::string, std::pair<std::string, fs::file_time_type>>;
Snapshot snapshot(const std::string& dir) {
  Snapshot s;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    s[e.path().string()] = {common::readFile(e.path().string()).value(), e.last_write_time()};
  }
  return s;
}

std::string lastLine(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return t.substr(t.rfind('\n') + 1);
}

class CheckMainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cli::LocalFederationOptions o;
    o.bin_dir = AIFED_BINARY_DIR;
    o.federation_file = std::string(AIFED_SOURCE_DIR) + "/tests/data/federation-3.toml";
    o.state_dir = dir_.file("state");
    auto fed = cli::LocalFederation::prepare(o);
    ASSERT_TRUE(fed.ok()) << fed.status().toString();
    fed_ = std::move(*fed);
  }
  std::string state() const { return fed_->stateDir(); }
  std::string config() const { return state() + "/coordinator.toml"; }
  Outcome coordinator(std::vector<std::string> args) {
    return run("coordinator/aifed-coordinator", std::move(args), log());
  }
  Outcome agent(std::vector<std::string> args) {
    return run("site-agent/aifed-agent", std::move(args), log());
  }
  std::string log() { return dir_.file("log-" + std::to_string(++runs_) + ".txt"); }

  TestDir dir_;
  std::unique_ptr<cli::LocalFederation> fed_;
  int runs_ = 0;
};

TEST_F(CheckMainTest, CoordinatorCheckChangesNothingAndSaysWhatStartWouldDo) {
  Snapshot fresh = snapshot(state());
  Outcome missing = coordinator({"--check", "-c", config()});
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("FAIL database " + state() + "/db/coordinator.db"));
  EXPECT_THAT(missing.output, HasSubstr("aifed-coordinator --init"));
  EXPECT_EQ(lastLine(missing.output), "would not start: 1 check FAILed") << missing.output;
  Outcome init = coordinator({"--check", "--init", "-c", config()});
  EXPECT_EQ(init.exit_code, 0) << init.output;
  EXPECT_THAT(lastLine(init.output),
              StartsWith("would start: federation \"aifed test federation\" with 3 sites, new "
                         "database"));
  EXPECT_EQ(snapshot(state()), fresh) << "--check created or changed a file";

  // The federation's database made by a real start, then checked: nothing changes.
  std::string ready = dir_.file("ready.json");
  Outcome started = run("coordinator/aifed-coordinator",
                        {"-c", config(), "--init", "--ready-file", ready}, log(), ready);
  ASSERT_EQ(started.exit_code, -1) << started.output;
  Snapshot made = snapshot(state());
  Outcome good = coordinator({"--check", "-c", config()});
  EXPECT_EQ(good.exit_code, 0) << good.output;
  EXPECT_THAT(good.output, HasSubstr("ok   database journal mode WAL"));
  EXPECT_THAT(lastLine(good.output), HasSubstr("with 3 sites, database schema "));
  EXPECT_THAT(lastLine(good.output), HasSubstr("(current), HTTPS on 127.0.0.1:0, ZeroMQ on "
                                               "tcp://127.0.0.1:*"));
  EXPECT_EQ(snapshot(state()), made) << "--check created or changed a file";

  // Broken: the coordinator's secret key readable by everyone.
  ASSERT_EQ(chmod((state() + "/keys/coordinator.key").c_str(), 0644), 0);
  Outcome broken = coordinator({"--check", "-c", config()});
  EXPECT_EQ(broken.exit_code, 1) << broken.output;
  EXPECT_THAT(broken.output, HasSubstr("FAIL coordinator key file"));
  EXPECT_THAT(broken.output, HasSubstr("has mode 0644"));
}

TEST_F(CheckMainTest, UnreadableConfigurationIsOneFailLine) {
  std::string bad = dir_.file("bad.toml");
  ASSERT_TRUE(common::writeFileAtomically(bad, "http_port = \"eighty\"\n").ok());
  Outcome r = coordinator({"--check", "-c", bad});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, StartsWith("FAIL configuration " + bad + ": "));
}

TEST_F(CheckMainTest, AgentCheckPassesCreatesNothingAndFailsOnABrokenEndpoint) {
  std::string agent_config = fed_->agentConfigPath("site-a");
  Snapshot before = snapshot(state());
  Outcome good = agent({"--check", "-c", agent_config, "--coordinator", "tcp://127.0.0.1:7781"});
  EXPECT_EQ(good.exit_code, 0) << good.output;
  EXPECT_THAT(lastLine(good.output),
              StartsWith("would start: site \"site-a\", backend simulated (partitions "));
  EXPECT_EQ(snapshot(state()), before) << "--check created or changed a file";
  EXPECT_FALSE(fs::exists(state() + "/db/site-a-agent.db"));
  Outcome broken = agent({"--check", "-c", agent_config, "--coordinator", "tcp://coordinator"});
  EXPECT_EQ(broken.exit_code, 1) << broken.output;
  EXPECT_THAT(broken.output, HasSubstr("FAIL coordinator endpoint: \"tcp://coordinator\""));
}

TEST_F(CheckMainTest, EveryProgramPrintsItsVersion) {
  for (const auto& [binary, name] : std::vector<std::pair<std::string, std::string>>{
           {"coordinator/aifed-coordinator", "aifed-coordinator"},
           {"site-agent/aifed-agent", "aifed-agent"},
           {"cli/aifed", "aifed"},
           {"sim/aifed-sim", "aifed-sim"}}) {
    Outcome r = run(binary, {"--version"}, log());
    EXPECT_EQ(r.exit_code, 0) << binary << ": " << r.output;
    EXPECT_EQ(r.output, name + " " + AIFED_VERSION + "\n");
  }
}

}  // namespace
}  // namespace aifed::coordinator
