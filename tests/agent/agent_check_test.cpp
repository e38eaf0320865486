// `aifed-agent --check` one check at a time (site-agent/agent_check.h): keys, the
// coordinator's endpoint and key, the state database read-only, the simulated backend,
// the identity map. The Slurm commands are checked against a real slurmctld in
// tests/slurm/slurm_check_test.cpp.
#include "site-agent/agent_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/files.h"
#include "protocol/transport/curve_keys.h"
#include "site-agent/agent_store.h"
#include "tests/store/test_dir.h"

namespace aifed::agent {
namespace {

using common::CheckReport;
using ::testing::HasSubstr;
using testing_support::TestDir;

std::string text(const CheckReport& report) {
  std::string out;
  for (const common::CheckLine& l : report.lines()) out += common::formatCheckLine(l) + "\n";
  return out;
}

class AgentCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.uid = getuid();
    env_.now = Time(std::chrono::seconds(1'800'000'000));
    env_.space = [](const std::string&) -> Result<common::FileSystemSpace> {
      return common::FileSystemSpace{uint64_t{50} << 30, uint64_t{100} << 30};
    };
    Result<transport::CurveKeyPair> site = transport::generateCurveKeyPair();
    Result<transport::CurveKeyPair> coordinator = transport::generateCurveKeyPair();
    ASSERT_TRUE(site.ok() && coordinator.ok());
    ASSERT_TRUE(transport::writeKeyPair(*site, dir_.file("keys"), "mimer").ok());
    ASSERT_TRUE(transport::writeKeyPair(*coordinator, dir_.file("keys"), "coordinator").ok());
    coordinator_key_ = coordinator->public_key;
  }
  Result<AgentConfig> config(const std::string& extra = "") {
    std::string toml =
        "site = \"mimer\"\ncoordinator = \"tcp://127.0.0.1:7781\"\n"
        "coordinator_public_key_file = \"keys/coordinator.pub\"\n"
        "key_file = \"keys/mimer.key\"\nstate_db = \"state/agent.db\"\n" +
        extra +
        "[simulated]\n[[simulated.partition]]\nname = \"gpu\"\nnodes = 4\n"
        "accelerator = \"h100\"\naccelerators_per_node = 4\ncores_per_node = 64\n"
        "memory_gib = 512\n";
    std::ofstream(dir_.file("agent.toml")) << toml;
    return loadAgentConfig(dir_.file("agent.toml"));
  }

  TestDir dir_;
  common::CheckEnvironment env_;
  std::string coordinator_key_;
  CheckReport report_;
};

TEST_F(AgentCheckTest, GoodSimulatedConfigPassesAndCreatesNothing) {
  Result<AgentConfig> c = config();
  ASSERT_TRUE(c.ok()) << c.status().toString();
  std::string last = checkAgent(report_, env_, *c, std::make_unique<ProcessRunner>());
  EXPECT_FALSE(report_.failed()) << text(report_);
  EXPECT_THAT(text(report_), HasSubstr(*transport::curveKeyFingerprint(coordinator_key_)));
  EXPECT_THAT(text(report_), HasSubstr("backend simulated: 1 partitions (gpu)"));
  EXPECT_THAT(last, HasSubstr("would start: site \"mimer\", backend simulated (partitions gpu), "
                              "new state database, connecting to tcp://127.0.0.1:7781"));
  EXPECT_FALSE(std::filesystem::exists(dir_.file("state"))) << "--check creates nothing";
}

TEST_F(AgentCheckTest, KeyReadableByGroupFails) {
  ASSERT_EQ(chmod(dir_.file("keys/mimer.key").c_str(), 0640), 0);
  checkAgentKey(report_, env_, dir_.file("keys/mimer.key"));
  EXPECT_THAT(text(report_), HasSubstr("has mode 0640: a secret must not be readable"));
}

TEST_F(AgentCheckTest, EndpointWithoutPortOrWithWildcardFails) {
  Result<AgentConfig> c = config();
  ASSERT_TRUE(c.ok());
  c->coordinator_endpoint = "tcp://coordinator.example.eu";
  checkCoordinatorLink(report_, *c);
  EXPECT_THAT(text(report_), HasSubstr("FAIL coordinator endpoint"));
  c->coordinator_endpoint = "tcp://*:7781";
  CheckReport wildcard;
  checkCoordinatorLink(wildcard, *c);
  EXPECT_THAT(text(wildcard), HasSubstr("`*` is for binding"));
}

TEST_F(AgentCheckTest, ExistingStateDatabaseIsReadNotChanged) {
  std::string db = dir_.file("agent.db");
  ASSERT_TRUE(AgentStore::open(db).ok());
  std::string before = common::readFile(db).value();
  std::string summary = checkStateDatabase(report_, env_, db);
  EXPECT_FALSE(report_.failed()) << text(report_);
  EXPECT_THAT(summary, HasSubstr("(current)"));
  EXPECT_EQ(common::readFile(db).value(), before);
  EXPECT_FALSE(std::filesystem::exists(db + "-wal"));
  // Another program's database is refused.
  std::ofstream(dir_.file("other.db")) << "not a database at all, just text";
  CheckReport other;
  checkStateDatabase(other, env_, dir_.file("other.db"));
  EXPECT_TRUE(other.failed()) << text(other);
}

TEST_F(AgentCheckTest, BadIdentityMapFileFailsWithItsLine) {
  std::ofstream(dir_.file("users.map")) << "# federation user, project -> local\n"
                                        << "this line has far too many fields for a rule x y z\n";
  Result<AgentConfig> c = config("[identity]\nmap_file = \"users.map\"\n");
  ASSERT_TRUE(c.ok()) << c.status().toString();
  checkSitePolicy(report_, *c);
  EXPECT_THAT(text(report_), HasSubstr("FAIL identity map file " + dir_.file("users.map")));
}

TEST_F(AgentCheckTest, UnreadableConfigIsOneFailLineAndExitOne) {
  std::ostringstream out;
  int code = runAgentCheck(dir_.file("absent.toml"), nullptr, env_,
                           std::make_unique<ProcessRunner>(), out);
  EXPECT_EQ(code, 1);
  EXPECT_THAT(out.str(), HasSubstr("FAIL configuration " + dir_.file("absent.toml")));
  EXPECT_THAT(out.str(), HasSubstr("would not start: 1 check FAILed"));
}

}  // namespace
}  // namespace aifed::agent
