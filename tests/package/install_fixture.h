// The fixture of package.install (install_test.cpp): guards the machine, installs the
// packages of package.debs, checks what installing made, prepares configs from the
// installed examples, runs the installed daemons as the aifed user, and removes and
// purges the packages with their checks. TearDown restores the machine: the packages
// purged, and the aifed user and group deleted if this test created them.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "tests/package/package_support.h"

namespace aifed::testing::package {

class InstallFixture : public ::testing::Test {
 protected:
  static constexpr const char* kSite = "example-site";  // the site of the example configs

  void SetUp() override;
  void TearDown() override;

  // dpkg -i of the three packages.
  void installPackages();
  // The aifed system user and group, /etc/aifed/keys and /var/lib/aifed with their modes.
  void checkUserAndDirectories();
  // The example configs are conffiles of their packages.
  void checkConffiles();
  // Copies of the installed example configs in dir_, changed only where the test must
  // (a temporary state dir, free loopback ports, keys made by the installed keygen).
  void prepareFromInstalledExamples();
  void startCoordinator();
  void startAgent();
  int stopCoordinator();
  int stopAgent();
  bool agentRunning() const { return agent_ && agent_->running(); }
  // An administrator's edit of a conffile survives installing the package again (an
  // upgrade to the same version), and the directories keep their owners and modes.
  void reinstallKeepsAnEditedConffile();
  // dpkg --remove: programs and units gone; configs, keys dir, state dir and user kept.
  void removeKeepsConfigurationAndState();
  // dpkg --purge: conffiles gone, a database in /var/lib/aifed kept with a notice,
  // empty directories gone, the user kept.
  void purgeKeepsDataAndTheUserOnly();

  std::filesystem::path stateDir() const { return dir_ / "state"; }
  std::string baseUrl() const { return "https://127.0.0.1:" + std::to_string(ready_.http_port); }

  struct Ready {
    std::string zmq_endpoint;
    int http_port = 0;
    std::string tls_fingerprint;
  };
  Ready ready_;
  std::filesystem::path dir_;  // configs, keys, state and logs of this run

  // `argv` run as the units run it: user and group aifed, no new privileges.
  std::vector<std::string> asAifed(std::vector<std::string> argv) const;

 private:
  void restoreMachine();

  bool armed_ = false;     // SetUp passed its guards: TearDown must restore
  bool pristine_ = false;  // no aifed package, /etc/aifed or /var/lib/aifed before
  bool placed_data_ = false;  // the test left a database in /var/lib/aifed
  bool had_user_ = false, had_group_ = false;
  std::unique_ptr<Daemon> coordinator_, agent_;
};

}  // namespace aifed::testing::package
