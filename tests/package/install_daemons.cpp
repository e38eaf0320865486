// InstallFixture's daemons: configs from the installed examples, the installed
// coordinator and agent run as the aifed user.
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <thread>

#include "tests/package/install_fixture.h"

namespace aifed::testing::package {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

void chownTo(const fs::path& path, const char* user, const char* group) {
  struct passwd* pw = getpwnam(user);
  struct group* gr = getgrnam(group);
  ASSERT_TRUE(pw != nullptr && gr != nullptr);
  ASSERT_EQ(chown(path.c_str(), pw->pw_uid, gr->gr_gid), 0) << path;
}

// The public key of a .pub file: a bare Z85 key, or the older TOML `public = "..."`.
std::string publicKey(const fs::path& pub) {
  std::string text = readText(pub);
  std::size_t q = text.find("public = \"");
  if (q != std::string::npos) return text.substr(q + 10, 40);
  return text.substr(0, text.find_first_of("\r\n"));
}

std::string quoted(const fs::path& p) {
  return "\"" + p.string() + "\"";
}

// An installed example with `changes` (key -> new line) applied; each key must occur once.
std::string adjusted(const std::string& example,
                     const std::vector<std::pair<std::string, std::string>>& changes) {
  std::string text = readText(example);
  EXPECT_FALSE(text.empty()) << example << " is not installed";
  for (const auto& [key, line] : changes) {
    EXPECT_TRUE(replaceLine(text, key, line)) << example << ": no single line sets " << key;
  }
  return text;
}

}  // namespace

std::vector<std::string> InstallFixture::asAifed(std::vector<std::string> argv) const {
  // As the unit runs it: user and group aifed, no new privileges, no capabilities.
  std::vector<std::string> out = {"setpriv",         "--reuid=aifed",       "--regid=aifed",
                                  "--init-groups",   "--no-new-privs",      "--bounding-set=-all",
                                  "--inh-caps=-all", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

void InstallFixture::prepareFromInstalledExamples() {
  // Keys as docs/install.md makes them: the installed keygen, secret halves owned by aifed,
  // in a directory like /etc/aifed/keys (root:aifed 0750).
  fs::path keys = dir_ / "keys";
  fs::create_directories(keys);
  ASSERT_NO_FATAL_FAILURE(chownTo(keys, "root", "aifed"));
  fs::permissions(keys, fs::perms(0750));
  for (const std::string name : {"coordinator", kSite}) {
    CommandRun r = runCommand({"/usr/bin/aifed", "keygen", "--out", (keys / name).string()});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    ASSERT_NO_FATAL_FAILURE(chownTo(keys / (name + ".key"), "aifed", "aifed"));
  }
  fs::create_directories(stateDir());
  ASSERT_NO_FATAL_FAILURE(chownTo(stateDir(), "aifed", "aifed"));
  fs::permissions(stateDir(), fs::perms(0750));

  writeText(dir_ / "coordinator.toml",
            adjusted("/etc/aifed/coordinator.toml",
                     {{"federation", "federation = " + quoted(dir_ / "federation.toml")},
                      {"key_file", "key_file = " + quoted(keys / "coordinator.key")},
                      {"database", "database = " + quoted(stateDir() / "coordinator.db")},
                      {"zmq_bind", "zmq_bind = \"tcp://127.0.0.1:*\""},
                      {"http_port", "http_port = 0"}}));
  std::string site_key = publicKey(keys / (std::string(kSite) + ".pub"));
  ASSERT_EQ(site_key.size(), 40u) << site_key;
  writeText(dir_ / "federation.toml",
            adjusted("/etc/aifed/federation.toml",
                     {{"curve_public_key", "curve_public_key = \"" + site_key + "\""}}));
  writeText(dir_ / "agent.toml",
            adjusted("/etc/aifed/agent.toml",
                     {{"coordinator_public_key_file",
                       "coordinator_public_key_file = " + quoted(keys / "coordinator.pub")},
                      {"key_file", "key_file = " + quoted(keys / (std::string(kSite) + ".key"))},
                      {"state_db", "state_db = " + quoted(stateDir() / "agent.db")},
                      {"output_dir", "output_dir = " + quoted(stateDir() / "output")}}));
}

void InstallFixture::startCoordinator() {
  fs::path ready = stateDir() / "ready.json";
  coordinator_ = std::make_unique<Daemon>(
      "coordinator",
      asAifed({"/usr/bin/aifed-coordinator", "--config", (dir_ / "coordinator.toml").string(),
               "--init", "--ready-file", ready.string()}),
      dir_ / "coordinator.log");
  ASSERT_TRUE(coordinator_->start().ok());
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(coordinator_->running()) << "the coordinator exited:\n"
                                         << readText(coordinator_->log());
    std::string text = readText(ready);
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(text, ec);
    if (!ec && v.is_object()) {
      ready_.zmq_endpoint = std::string(v.at("zmq_endpoint").as_string());
      ready_.http_port = static_cast<int>(v.at("http_port").to_number<int64_t>());
      ready_.tls_fingerprint = std::string(v.at("tls_fingerprint").as_string());
      return;
    }
    std::this_thread::sleep_for(50ms);
  }
  FAIL() << "the coordinator was not ready in 30 s:\n" << readText(coordinator_->log());
}

void InstallFixture::startAgent() {
  agent_ = std::make_unique<Daemon>(
      "agent",
      asAifed({"/usr/bin/aifed-agent", "--config", (dir_ / "agent.toml").string(),
               "--coordinator", ready_.zmq_endpoint}),
      dir_ / "agent.log");
  ASSERT_TRUE(agent_->start().ok());
}

int InstallFixture::stopCoordinator() {
  return coordinator_ ? coordinator_->stop() : -1;
}

int InstallFixture::stopAgent() {
  return agent_ ? agent_->stop() : -1;
}

}  // namespace aifed::testing::package
