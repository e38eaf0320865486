// package.units: the shipped systemd units (packaging/systemd) pass `systemd-analyze
// verify`, stay under an exposure rating of `systemd-analyze security`, and name the
// installed paths. Verify needs every ExecStart binary to exist, so each unit is checked
// as a temporary copy whose /usr/bin paths point at this build's binaries.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <string>

#include "tests/package/package_support.h"

namespace aifed::testing::package {
namespace {
namespace fs = std::filesystem;

struct Unit {
  std::string name;    // aifed-coordinator.service
  std::string binary;  // the path in the build: coordinator/aifed-coordinator
};
const Unit kCoordinator{"aifed-coordinator.service", "coordinator/aifed-coordinator"};
const Unit kAgent{"aifed-agent.service", "site-agent/aifed-agent"};

// The highest `systemd-analyze security` exposure each unit may have (0 safe .. 10
// exposed). Measured: see docs/install.md, "The units' hardening".
constexpr double kMaxExposure = 2.0;

class UnitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("aifed-units-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // The shipped unit with /usr/bin/<program> replaced by this build's binary.
  fs::path copyForBuild(const Unit& unit, const std::string& binary_override = "") {
    std::string text = readText(sourcePath("packaging/systemd/" + unit.name));
    EXPECT_FALSE(text.empty()) << unit.name;
    std::string program = fs::path(unit.binary).filename().string();
    std::string binary =
        binary_override.empty() ? (buildDir() / unit.binary).string() : binary_override;
    text = std::regex_replace(text, std::regex("/usr/bin/" + program + "\\b"), binary);
    fs::path out = dir_ / unit.name;
    writeText(out, text);
    return out;
  }

  // `systemd-analyze verify` of one unit file; its warnings count as failures.
  CommandRun verify(const fs::path& unit) {
    // --man=no: the units' Documentation= man pages are in the packages, not installed here.
    return runCommand({"systemd-analyze", "verify", "--man=no", unit.string()});
  }

  fs::path dir_;
};

TEST_F(UnitsTest, EveryShippedUnitPassesSystemdAnalyzeVerify) {
  for (const Unit& unit : {kCoordinator, kAgent}) {
    ASSERT_TRUE(fs::exists(buildDir() / unit.binary)) << "build " << unit.binary << " first";
    CommandRun r = verify(copyForBuild(unit));
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    // verify reports problems of a unit it still accepts on stderr: none allowed.
    EXPECT_EQ(r.err, "") << unit.name << ":\n" << r.describe();
  }
}

// The check can fail: a unit whose binary does not exist is refused.
TEST_F(UnitsTest, VerifyRefusesAUnitWhoseBinaryIsMissing) {
  CommandRun r = verify(copyForBuild(kAgent, (dir_ / "no-such-aifed-agent").string()));
  EXPECT_NE(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("no-such-aifed-agent"), std::string::npos) << r.describe();
}

// A Slurm site's drop-in (packaging/systemd/aifed-agent-slurm.conf) applied to the
// agent's unit still verifies. systemd-analyze reads drop-ins from <unit dir>/<unit>.d/.
TEST_F(UnitsTest, AgentWithTheSlurmDropInPassesVerify) {
  fs::path unit = copyForBuild(kAgent);
  fs::create_directories(dir_ / "aifed-agent.service.d");
  fs::copy_file(sourcePath("packaging/systemd/aifed-agent-slurm.conf"),
                dir_ / "aifed-agent.service.d" / "slurm.conf");
  CommandRun r = verify(unit);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.err, "") << r.describe();
  // The drop-in is really read: a mistake in it is reported.
  writeText(dir_ / "aifed-agent.service.d" / "broken.conf", "[Service]\nProtectSystem=maybe\n");
  r = verify(unit);
  EXPECT_NE(r.err.find("broken.conf:2"), std::string::npos) << r.describe();
}

TEST_F(UnitsTest, EachUnitIsRatedBelowTheExposureThreshold) {
  for (const Unit& unit : {kCoordinator, kAgent}) {
    fs::path copy = copyForBuild(unit);
    // --threshold: an integer on the rating's scale times ten (0..100).
    std::string threshold = std::to_string(static_cast<int>(kMaxExposure * 10));
    CommandRun r = runCommand({"systemd-analyze", "security", "--offline=yes", "--no-pager",
                               "--threshold=" + threshold, copy.string()});
    EXPECT_EQ(r.exit_code, 0) << unit.name << " is rated above " << kMaxExposure << ":\n"
                              << r.describe();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(Overall exposure level for \S+: ([0-9.]+))")))
        << r.describe();
    std::cout << unit.name << ": exposure " << m[1] << "\n";
  }
}

// The units start the installed programs as the aifed user with the installed configs,
// and the coordinator's reload is SIGHUP (the federation file is re-read).
TEST_F(UnitsTest, UnitsNameTheInstalledPathsAndTheAifedUser) {
  std::string coordinator = readText(sourcePath("packaging/systemd/aifed-coordinator.service"));
  std::string agent = readText(sourcePath("packaging/systemd/aifed-agent.service"));
  EXPECT_NE(coordinator.find("\nExecStart=/usr/bin/aifed-coordinator --config "
                             "/etc/aifed/coordinator.toml\n"),
            std::string::npos);
  EXPECT_NE(coordinator.find("\nExecReload=/bin/kill -HUP $MAINPID\n"), std::string::npos);
  EXPECT_NE(agent.find("\nExecStart=/usr/bin/aifed-agent --config /etc/aifed/agent.toml\n"),
            std::string::npos);
  for (const std::string* unit : {&coordinator, &agent}) {
    for (const char* line : {"\nUser=aifed\n", "\nStateDirectory=aifed\n",
                             "\nProtectSystem=strict\n", "\nNoNewPrivileges=yes\n",
                             "\nCapabilityBoundingSet=\n"}) {
      EXPECT_NE(unit->find(line), std::string::npos) << line;
    }
  }
}

// What the daemons were seen to need under strace (docs/install.md, "The units'
// hardening"), which the sandbox must keep: libzmq's getifaddrs() at bind (AF_NETLINK)
// and pthread_setschedparam() in each I/O thread (not in a ~@resources filter); libzmq
// aborts when either fails.
TEST_F(UnitsTest, UnitsAllowWhatLibzmqNeeds) {
  for (const Unit& unit : {kCoordinator, kAgent}) {
    std::string text = readText(sourcePath("packaging/systemd/" + unit.name));
    std::smatch m;
    ASSERT_TRUE(std::regex_search(text, m, std::regex("\\nRestrictAddressFamilies=([^\\n]*)")));
    EXPECT_NE(m[1].str().find("AF_NETLINK"), std::string::npos) << unit.name;
    EXPECT_FALSE(std::regex_search(text, std::regex("\\nSystemCallFilter=~[^\\n]*@resources")))
        << unit.name;
  }
}

}  // namespace
}  // namespace aifed::testing::package
