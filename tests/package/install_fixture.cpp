#include "tests/package/install_fixture.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <thread>

namespace aifed::testing::package {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::map<std::string, std::string> kDpkgEnv = {{"DEBIAN_FRONTEND", "noninteractive"}};
// What a database left in /var/lib/aifed is called here: never a name a real install uses.
constexpr const char* kLeftData = "/var/lib/aifed/package-test.db";

// dpkg's status of a package: "installed", "config-files", ...; "" if dpkg never knew it.
std::string dpkgStatus(const std::string& package) {
  CommandRun r = runCommand({"dpkg-query", "-W", "-f=${db:Status-Status}", package});
  return r.exit_code == 0 ? r.out : "";
}

bool present(const std::string& package) {
  std::string s = dpkgStatus(package);
  return !s.empty() && s != "not-installed";
}

// Owner, group and permission bits of a path, as "root:aifed 0750" (or "missing").
std::string ownership(const fs::path& path) {
  struct stat st = {};
  if (stat(path.c_str(), &st) != 0) return "missing";
  struct passwd* pw = getpwuid(st.st_uid);
  struct group* gr = getgrgid(st.st_gid);
  char mode[8];
  snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
  return std::string(pw ? pw->pw_name : std::to_string(st.st_uid)) + ":" +
         (gr ? gr->gr_name : std::to_string(st.st_gid)) + " " + mode;
}

void chownTo(const fs::path& path, const char* user, const char* group) {
  struct passwd* pw = getpwnam(user);
  struct group* gr = getgrnam(group);
  ASSERT_TRUE(pw != nullptr && gr != nullptr);
  ASSERT_EQ(chown(path.c_str(), pw->pw_uid, gr->gr_gid), 0) << path;
}

}  // namespace

void InstallFixture::SetUp() {
  if (geteuid() != 0) {
    GTEST_SKIP() << "package.install installs Debian packages on this machine: it needs root";
  }
  const char* forced = std::getenv("AIFED_PACKAGE_INSTALL_TEST");
  std::string found;
  for (const std::string& p : kPackages) {
    if (present(p)) found += " package " + p + " (" + dpkgStatus(p) + ")";
  }
  for (const char* d : {"/etc/aifed", "/var/lib/aifed"}) {
    if (fs::exists(d)) found += std::string(" ") + d;
  }
  if (!found.empty() && (forced == nullptr || std::string(forced) != "1")) {
    GTEST_SKIP() << "this machine already has" << found
                 << ": package.install would replace and purge them. Run it on a machine "
                    "that may be changed with AIFED_PACKAGE_INSTALL_TEST=1";
  }
  pristine_ = found.empty();
  had_user_ = getpwnam("aifed") != nullptr;
  had_group_ = getgrnam("aifed") != nullptr;
  std::map<std::string, fs::path> debs = debFiles();
  for (const std::string& p : kPackages) {
    ASSERT_TRUE(debs.count(p)) << p << ".deb missing in " << debDir() << ": run package.debs";
  }
  dir_ = fs::temp_directory_path() / ("aifed-package-install-" + std::to_string(getpid()));
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  fs::permissions(dir_, fs::perms(0755));  // the aifed user reads its configs here
  armed_ = true;
}

void InstallFixture::TearDown() {
  if (!armed_) return;
  restoreMachine();
  if (!HasFailure()) {
    fs::remove_all(dir_);
  } else {
    std::cerr << "configs, state and the daemons' logs kept in " << dir_ << "\n";
  }
}

void InstallFixture::restoreMachine() {
  (void)stopAgent();
  (void)stopCoordinator();
  std::vector<std::string> purge = {"dpkg", "--purge"};
  for (const std::string& p : kPackages) {
    if (present(p)) purge.push_back(p);
  }
  if (purge.size() > 2) {
    CommandRun r = runCommand(purge, 120s, kDpkgEnv);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
  }
  if (placed_data_) {
    fs::remove(kLeftData);
    std::error_code ec;
    fs::remove("/var/lib/aifed", ec);  // only if empty
  }
  if (!had_user_ && getpwnam("aifed") != nullptr) {
    CommandRun r = runCommand({"userdel", "aifed"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
  }
  if (!had_group_ && getgrnam("aifed") != nullptr) {
    CommandRun r = runCommand({"groupdel", "aifed"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
  }
}

void InstallFixture::installPackages() {
  std::map<std::string, fs::path> debs = debFiles();
  // confold: on a machine that may be changed, an administrator's edited configs stay.
  CommandRun r = runCommand({"dpkg", "--force-confdef", "--force-confold", "--install",
                             debs["aifed"].string(), debs["aifed-coordinator"].string(),
                             debs["aifed-agent"].string()},
                            180s, kDpkgEnv);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  for (const std::string& p : kPackages) EXPECT_EQ(dpkgStatus(p), "installed") << p;
}

void InstallFixture::checkUserAndDirectories() {
  struct passwd* pw = getpwnam("aifed");
  ASSERT_NE(pw, nullptr) << "no aifed user";
  EXPECT_LT(pw->pw_uid, 1000u) << "a system user";
  EXPECT_STREQ(pw->pw_dir, "/var/lib/aifed");
  EXPECT_STREQ(pw->pw_shell, "/usr/sbin/nologin");
  struct group* gr = getgrnam("aifed");
  ASSERT_NE(gr, nullptr) << "no aifed group";
  EXPECT_EQ(pw->pw_gid, gr->gr_gid);
  EXPECT_EQ(ownership("/etc/aifed"), "root:root 0755");
  EXPECT_EQ(ownership("/etc/aifed/keys"), "root:aifed 0750");
  EXPECT_EQ(ownership("/var/lib/aifed"), "aifed:aifed 0750");
  for (const char* program : {"aifed-coordinator", "aifed-agent", "aifed", "aifed-sim"}) {
    EXPECT_EQ(ownership(std::string("/usr/bin/") + program), "root:root 0755") << program;
  }
  for (const char* unit : {"aifed-coordinator.service", "aifed-agent.service"}) {
    EXPECT_EQ(ownership(std::string("/lib/systemd/system/") + unit), "root:root 0644") << unit;
  }
}

void InstallFixture::checkConffiles() {
  std::map<std::string, std::vector<std::string>> conffiles = {
      {"aifed-coordinator", {"/etc/aifed/coordinator.toml", "/etc/aifed/federation.toml"}},
      {"aifed-agent", {"/etc/aifed/agent.toml"}}};
  for (const auto& [package, files] : conffiles) {
    CommandRun r = runCommand({"dpkg-query", "-W", "-f=${Conffiles}", package});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    for (const std::string& f : files) {
      EXPECT_NE(r.out.find(" " + f + " "), std::string::npos) << package << ": " << r.out;
      EXPECT_EQ(ownership(f), "root:root 0644") << f;
    }
  }
}

void InstallFixture::reinstallKeepsAnEditedConffile() {
  const fs::path agent_toml = "/etc/aifed/agent.toml";
  std::string edited = readText(agent_toml) + "# edited by the site's administrator\n";
  writeText(agent_toml, edited);
  // No --force-conf* here: an unchanged conffile of the package must not make dpkg ask.
  CommandRun r = runCommand({"dpkg", "--install", debFiles()["aifed-agent"].string()}, 120s,
                            kDpkgEnv);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(readText(agent_toml), edited);
  EXPECT_EQ(ownership("/etc/aifed/keys"), "root:aifed 0750");
  EXPECT_EQ(ownership("/var/lib/aifed"), "aifed:aifed 0750");
}

void InstallFixture::removeKeepsConfigurationAndState() {
  // A database as a coordinator leaves it: purge must keep it.
  std::error_code ec;
  fs::copy_file(stateDir() / "coordinator.db", kLeftData, ec);
  ASSERT_FALSE(ec) << ec.message();
  placed_data_ = true;
  ASSERT_NO_FATAL_FAILURE(chownTo(kLeftData, "aifed", "aifed"));

  CommandRun r = runCommand({"dpkg", "--remove", "aifed-agent", "aifed-coordinator", "aifed"},
                            120s, kDpkgEnv);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(dpkgStatus("aifed-coordinator"), "config-files");
  EXPECT_EQ(dpkgStatus("aifed-agent"), "config-files");
  EXPECT_FALSE(present("aifed")) << dpkgStatus("aifed");
  for (const char* gone : {"/usr/bin/aifed-coordinator", "/usr/bin/aifed-agent", "/usr/bin/aifed",
                           "/usr/bin/aifed-sim", "/lib/systemd/system/aifed-coordinator.service",
                           "/lib/systemd/system/aifed-agent.service"}) {
    EXPECT_FALSE(fs::exists(gone)) << gone;
  }
  for (const char* kept : {"/etc/aifed/coordinator.toml", "/etc/aifed/federation.toml",
                           "/etc/aifed/agent.toml", "/etc/aifed/keys", kLeftData}) {
    EXPECT_TRUE(fs::exists(kept)) << kept << " must survive a remove";
  }
  EXPECT_NE(getpwnam("aifed"), nullptr);
}

void InstallFixture::purgeKeepsDataAndTheUserOnly() {
  CommandRun r = runCommand({"dpkg", "--purge", "aifed-agent", "aifed-coordinator", "aifed"},
                            120s, kDpkgEnv);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  for (const std::string& p : kPackages) EXPECT_FALSE(present(p)) << p << ": " << dpkgStatus(p);
  // The data is kept, and the administrator is told.
  EXPECT_TRUE(fs::exists(kLeftData));
  EXPECT_EQ(ownership("/var/lib/aifed"), "aifed:aifed 0750");
  EXPECT_NE((r.out + r.err).find("/var/lib/aifed is not empty and was kept"), std::string::npos)
      << r.describe();
  // The user and group stay (files may still belong to them).
  EXPECT_NE(getpwnam("aifed"), nullptr);
  EXPECT_NE(getgrnam("aifed"), nullptr);
  if (pristine_) {
    // Nothing else: no conffile, no empty keys directory, no /etc/aifed.
    EXPECT_FALSE(fs::exists("/etc/aifed")) << "purge left /etc/aifed";
  }
}

}  // namespace aifed::testing::package
