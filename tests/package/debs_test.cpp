// package.debs: cpack builds the three Debian packages from this build (gzip: seconds),
// and each holds what docs/install.md says: its programs, unit, example configs as
// conffiles, maintainer scripts, man pages, copyright and changelog, and dependencies
// computed from the binaries. package.lintian and package.install use the packages it
// leaves in debDir() (CTest fixture aifed_debs).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include "tests/package/package_support.h"

namespace aifed::testing::package {
namespace {
namespace fs = std::filesystem;

// Every file (not directory) of a package, as "/usr/bin/aifed" (owner checked: root/root).
std::set<std::string> filesOf(const fs::path& deb) {
  CommandRun r = runCommand({"dpkg-deb", "--contents", deb.string()});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  std::set<std::string> files;
  std::istringstream lines(r.out);
  std::string mode, owner, size, date, time, path;
  while (lines >> mode >> owner >> size >> date >> time >> path) {
    EXPECT_EQ(owner, "root/root") << path;
    if (mode[0] == '-') files.insert(path.substr(1));  // "./usr/bin/aifed"
  }
  return files;
}

std::string field(const fs::path& deb, const std::string& name) {
  CommandRun r = runCommand({"dpkg-deb", "--field", deb.string(), name});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  return r.out.substr(0, r.out.find_last_not_of('\n') + 1);
}

class DebsTest : public ::testing::Test {
 protected:
  // One cpack run for every test of this suite.
  static void SetUpTestSuite() {
    fs::remove_all(debDir());
    fs::create_directories(debDir());
    cpack_ = new CommandRun(runCommand(
        {AIFED_CPACK_COMMAND, "--config", (buildDir() / "CPackConfig.cmake").string(), "-B",
         (debDir() / "cpack").string(), "-D", "CPACK_OUTPUT_FILE_PREFIX=" + debDir().string(),
         "-D", "CPACK_DEBIAN_COMPRESSION_TYPE=gzip"},
        std::chrono::seconds(180)));
    fs::remove_all(debDir() / "cpack");  // the staging trees: hundreds of MB of an ASan build
  }
  static void TearDownTestSuite() {
    delete cpack_;
    cpack_ = nullptr;
  }
  static CommandRun* cpack_;
};
CommandRun* DebsTest::cpack_ = nullptr;

TEST_F(DebsTest, CpackBuildsTheThreePackages) {
  ASSERT_EQ(cpack_->exit_code, 0) << cpack_->describe();
  std::map<std::string, fs::path> debs = debFiles();
  for (const std::string& package : kPackages) {
    ASSERT_TRUE(debs.count(package)) << package << " missing in " << debDir() << "\n"
                                     << cpack_->describe();
    EXPECT_EQ(debs[package].filename().string(),
              package + "_" + AIFED_VERSION + "_" + field(debs[package], "Architecture") + ".deb");
    EXPECT_EQ(field(debs[package], "Version"), AIFED_VERSION);
    EXPECT_EQ(field(debs[package], "Source"), "aifed");
    EXPECT_EQ(field(debs[package], "Section"), "net");
    EXPECT_EQ(field(debs[package], "Priority"), "optional");
    EXPECT_NE(field(debs[package], "Maintainer"), "");
    EXPECT_NE(field(debs[package], "Homepage"), "");
  }
}

TEST_F(DebsTest, EachPackageHoldsItsFilesAndNothingElse) {
  ASSERT_EQ(cpack_->exit_code, 0) << cpack_->describe();
  std::map<std::string, fs::path> debs = debFiles();
  std::map<std::string, std::set<std::string>> expected = {
      {"aifed-coordinator",
       {"/usr/bin/aifed-coordinator", "/lib/systemd/system/aifed-coordinator.service",
        "/etc/aifed/coordinator.toml", "/etc/aifed/federation.toml",
        "/usr/share/man/man8/aifed-coordinator.8.gz"}},
      {"aifed-agent",
       {"/usr/bin/aifed-agent", "/lib/systemd/system/aifed-agent.service",
        "/etc/aifed/agent.toml", "/usr/share/man/man8/aifed-agent.8.gz",
        "/usr/share/doc/aifed-agent/examples/slurm.conf"}},
      {"aifed",
       {"/usr/bin/aifed", "/usr/bin/aifed-sim", "/usr/share/man/man1/aifed.1.gz",
        "/usr/share/man/man1/aifed-sim.1.gz", "/usr/share/aifed/federation-7.toml"}},
  };
  for (const std::string& package : kPackages) {
    std::set<std::string> files = filesOf(debs[package]);
    expected[package].insert("/usr/share/doc/" + package + "/copyright");
    expected[package].insert("/usr/share/doc/" + package + "/changelog.gz");
    for (const std::string& f : expected[package]) {
      EXPECT_TRUE(files.count(f)) << package << " lacks " << f;
    }
    for (const std::string& f : files) {
      // Besides the expected files: documents and the monitoring files of deploy/.
      bool known = expected[package].count(f) > 0 ||
                   f.rfind("/usr/share/doc/" + package + "/", 0) == 0 ||
                   (package == "aifed-coordinator" && f.rfind("/usr/share/aifed/", 0) == 0);
      EXPECT_TRUE(known) << package << " holds an unexpected file " << f;
    }
  }
}

TEST_F(DebsTest, DaemonPackagesCarryConffilesScriptsAndDependencies) {
  ASSERT_EQ(cpack_->exit_code, 0) << cpack_->describe();
  std::map<std::string, fs::path> debs = debFiles();
  std::map<std::string, std::string> conffiles = {
      {"aifed-coordinator", "/etc/aifed/coordinator.toml\n/etc/aifed/federation.toml\n"},
      {"aifed-agent", "/etc/aifed/agent.toml\n"}};
  for (const auto& [package, listed] : conffiles) {
    fs::path control = debDir() / ("control-" + package);
    fs::remove_all(control);
    CommandRun r = runCommand({"dpkg-deb", "--control", debs[package].string(), control.string()});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(readText(control / "conffiles"), listed) << package;
    for (const char* script : {"postinst", "prerm", "postrm"}) {
      fs::perms p = fs::status(control / script).permissions();
      EXPECT_EQ(p & fs::perms::all, fs::perms(0755)) << package << " " << script;
    }
    EXPECT_NE(readText(control / "postinst").find("adduser --system"), std::string::npos);
    std::string depends = field(debs[package], "Depends");
    // adduser for the postinst; libzmq5 and libsqlite3-0 found by dpkg-shlibdeps.
    for (const char* dep : {"adduser", "libzmq5", "libsqlite3-0", "libc6"}) {
      EXPECT_NE(depends.find(dep), std::string::npos) << package << " Depends: " << depends;
    }
    EXPECT_NE(field(debs[package], "Recommends").find("aifed (= " AIFED_VERSION ")"),
              std::string::npos);
    fs::remove_all(control);
  }
  EXPECT_NE(field(debs["aifed"], "Depends").find("libssl3"), std::string::npos);
}

}  // namespace
}  // namespace aifed::testing::package
