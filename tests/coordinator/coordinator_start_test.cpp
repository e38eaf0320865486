// aifed-coordinator's start against its database (the real binary): an empty, missing or
// foreign database stops it, --init makes a new federation's database once, and
// everything derived from the database's place follows --database.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
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
using testing_support::TestDir;

struct Outcome {
  int exit_code = -1;  // -1: still running when stopped
  std::string output;
};

// Runs the coordinator with `args` until it exits or `ready` appears (then SIGTERM).
Outcome runCoordinator(const std::vector<std::string>& args, const std::string& ready,
                   const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* out = std::freopen(log.c_str(), "w", stdout);
    (void)out;
    dup2(fileno(stdout), STDERR_FILENO);
    std::vector<std::string> argv = {std::string(AIFED_BINARY_DIR) +
                                     "/coordinator/aifed-coordinator"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> c;
    for (std::string& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    execv(c[0], c.data());
    _exit(127);
  }
  Outcome run;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
      run.output = common::readFile(log).value();
      return run;
    }
    if (!ready.empty() && fs::exists(ready)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGTERM);
  waitpid(pid, &status, 0);
  run.output = common::readFile(log).value();
  return run;
}

class CoordinatorStartTest : public ::testing::Test {
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
  std::string config() const { return fed_->stateDir() + "/coordinator.toml"; }
  std::string database() const { return fed_->stateDir() + "/db/coordinator.db"; }
  Outcome start(std::vector<std::string> extra) {
    std::string ready = dir_.file("ready-" + std::to_string(++runs_) + ".json");
    std::vector<std::string> args = {"--config", config(), "--ready-file", ready,
                                     "--zmq-bind", "tcp://127.0.0.1:*", "--http-port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    return runCoordinator(args, ready, dir_.file("log-" + std::to_string(runs_) + ".txt"));
  }

  TestDir dir_;
  std::unique_ptr<cli::LocalFederation> fed_;
  int runs_ = 0;
};

TEST_F(CoordinatorStartTest, AMissingOrEmptyDatabaseStopsItUntilInit) {
  Outcome missing = start({});
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("--init"));
  EXPECT_FALSE(fs::exists(database()));  // nothing was made
  fs::create_directories(fs::path(database()).parent_path());
  { std::ofstream truncated(database()); }  // a failed restore
  Outcome empty = start({});
  EXPECT_EQ(empty.exit_code, 1) << empty.output;
  EXPECT_THAT(empty.output, HasSubstr("the file is empty"));
  Outcome init = start({"--init"});
  EXPECT_EQ(init.exit_code, -1) << init.output;  // started, then stopped by the test
  EXPECT_THAT(init.output, HasSubstr("initialised federation"));
  Outcome again = start({"--init"});
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_THAT(again.output, HasSubstr("--init refused"));
  Outcome normal = start({});
  EXPECT_EQ(normal.exit_code, -1) << normal.output;
}

TEST_F(CoordinatorStartTest, AnotherFederationsDatabaseStopsIt) {
  ASSERT_EQ(start({"--init"}).exit_code, -1);
  std::string fed_path = fed_->stateDir() + "/federation.toml";
  std::string text = common::readFile(fed_path).value();
  size_t at = text.find("name = \"");
  ASSERT_NE(at, std::string::npos);
  text.insert(at + 8, "renamed ");
  ASSERT_TRUE(common::writeFileAtomically(fed_path, text).ok());
  Outcome foreign = start({});
  EXPECT_EQ(foreign.exit_code, 1) << foreign.output;
  EXPECT_THAT(foreign.output, HasSubstr("but the federation file names"));
}

// Issue: a second coordinator started with --database OTHER wrote its bootstrap token
// over the live coordinator's admin.token.
TEST_F(CoordinatorStartTest, WhatDerivesFromTheDatabaseFollowsDatabase) {
  ASSERT_EQ(start({"--init"}).exit_code, -1);
  std::string token = fed_->stateDir() + "/db/admin.token";
  std::string before = common::readFile(token).value();
  std::string other = dir_.file("other/coordinator.db");
  Outcome second = start({"--init", "--database", other});
  ASSERT_EQ(second.exit_code, -1) << second.output;
  EXPECT_EQ(common::readFile(token).value(), before);
  EXPECT_TRUE(fs::exists(dir_.file("other/admin.token")));
  EXPECT_TRUE(fs::exists(dir_.file("other/tls"))) << second.output;
  EXPECT_TRUE(fs::exists(other + ".ids"));  // the id lease sits beside its database
}

}  // namespace
}  // namespace aifed::coordinator
