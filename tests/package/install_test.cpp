// package.install: the three packages installed on this machine with dpkg, the
// coordinator and one agent (simulated backend) started from the INSTALLED binaries and
// copies of the installed example configs, as the aifed user; the site comes up over
// HTTPS and a job completes (after --version and --check of the installed programs); then remove and purge leave what docs/install.md says.
//
// It changes the machine, so it runs only as root on a machine without aifed packages,
// /etc/aifed or /var/lib/aifed (CI's throw-away machine), or with
// AIFED_PACKAGE_INSTALL_TEST=1; otherwise it is skipped with the reason. Whatever
// happens, TearDown purges the packages and deletes the aifed user and group it made.
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <thread>

#include "cli/http_client.h"
#include "tests/package/install_fixture.h"

namespace aifed::testing::package {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

class InstallTest : public InstallFixture {
 protected:
  // GET target from the coordinator over HTTPS (pinned, admin token); null on failure.
  json::value get(const std::string& target) {
    Result<cli::HttpResult> r = client_->request("GET", target, "");
    if (!r.ok() || r->status != 200) return nullptr;
    return json::parse(r->body);
  }
  std::string siteState(const std::string& site) {
    json::value v = get("/api/v1/sites");
    if (!v.is_object()) return "";
    for (const json::value& s : v.at("sites").as_array()) {
      if (s.at("id").as_string() == site) return std::string(s.at("state").as_string());
    }
    return "";
  }
  std::string jobState(const std::string& id) {
    json::value v = get("/api/v1/jobs/" + id);
    return v.is_object() ? std::string(v.at("state").as_string()) : "";
  }
  // Polls until `done` or the limit.
  static bool waitFor(const std::function<bool()>& done, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return done();
  }

  // A job submitted with the installed CLI, as the admin; its id.
  std::string submitWithInstalledCli() {
    fs::path script = dir_ / "job.sh";
    writeText(script, "#!/bin/bash\necho installed from the package\n");
    CommandRun r = runCommand({"/usr/bin/aifed", "--server", baseUrl(), "--token-file",
                               (stateDir() / "admin.token").string(), "--fingerprint",
                               ready_.tls_fingerprint, "--json", "submit", "--time", "5",
                               "--simulated-runtime", "0:01", "--job-name", "package-test",
                               script.string()});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    if (r.exit_code != 0) return "";
    return std::string(json::parse(r.out).at("id").as_string());
  }

  // The installed programs name their version, and the installed daemons' --check passes
  // on the prepared configs as the aifed user, before anything starts.
  void checkInstalledVersionsAndChecks() {
    for (const std::string program : {"aifed-coordinator", "aifed-agent", "aifed", "aifed-sim"}) {
      CommandRun r = runCommand({"/usr/bin/" + program, "--version"});
      EXPECT_EQ(r.exit_code, 0) << r.describe();
      EXPECT_EQ(r.out, program + " " + AIFED_VERSION + "\n") << r.describe();
    }
    CommandRun c = runCommand(asAifed({"/usr/bin/aifed-coordinator", "--check", "--init",
                                       "--config", (dir_ / "coordinator.toml").string()}));
    EXPECT_EQ(c.exit_code, 0) << c.describe();
    CommandRun a = runCommand(
        asAifed({"/usr/bin/aifed-agent", "--check", "--config", (dir_ / "agent.toml").string()}));
    EXPECT_EQ(a.exit_code, 0) << a.describe();
    EXPECT_FALSE(fs::exists(stateDir() / "coordinator.db")) << "--check created the database";
  }

  std::unique_ptr<cli::HttpClient> client_;
};

TEST_F(InstallTest, InstalledDaemonsRunASiteAndPurgeLeavesWhatPolicySays) {
  ASSERT_NO_FATAL_FAILURE(installPackages());
  ASSERT_NO_FATAL_FAILURE(checkUserAndDirectories());
  ASSERT_NO_FATAL_FAILURE(checkConffiles());
  ASSERT_NO_FATAL_FAILURE(prepareFromInstalledExamples());
  ASSERT_NO_FATAL_FAILURE(checkInstalledVersionsAndChecks());

  ASSERT_NO_FATAL_FAILURE(startCoordinator());
  cli::HttpClientOptions o;
  o.fingerprint = ready_.tls_fingerprint;
  o.bearer_token = readText(stateDir() / "admin.token");
  o.bearer_token = o.bearer_token.substr(0, o.bearer_token.find_first_of("\r\n"));
  o.timeout = 10s;
  client_ = std::make_unique<cli::HttpClient>(baseUrl(), o);
  ASSERT_EQ(siteState(kSite), "unknown") << "before its agent connects";

  ASSERT_NO_FATAL_FAILURE(startAgent());
  ASSERT_TRUE(waitFor([&] { return siteState(kSite) == "up" || !agentRunning(); }, 30s) &&
              agentRunning())
      << "site state " << siteState(kSite) << "; agent log:\n" << readText(dir_ / "agent.log");
  std::string id = submitWithInstalledCli();
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(waitFor([&] { return jobState(id) == "completed"; }, 30s))
      << "job " << id << " is " << jobState(id) << "; logs in " << dir_;

  // The daemons ran as aifed: their databases belong to it.
  for (const char* db : {"coordinator.db", "agent.db"}) {
    struct stat st = {};
    ASSERT_EQ(stat((stateDir() / db).c_str(), &st), 0) << db;
    EXPECT_EQ(st.st_uid, getpwnam("aifed")->pw_uid) << db;
  }
  int agent_status = stopAgent();
  int coordinator_status = stopCoordinator();
  EXPECT_TRUE(WIFEXITED(agent_status) && WEXITSTATUS(agent_status) == 0) << agent_status;
  EXPECT_TRUE(WIFEXITED(coordinator_status) && WEXITSTATUS(coordinator_status) == 0)
      << coordinator_status;

  ASSERT_NO_FATAL_FAILURE(reinstallKeepsAnEditedConffile());
  ASSERT_NO_FATAL_FAILURE(removeKeepsConfigurationAndState());
  ASSERT_NO_FATAL_FAILURE(purgeKeepsDataAndTheUserOnly());
}

}  // namespace
}  // namespace aifed::testing::package
