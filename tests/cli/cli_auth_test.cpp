// The CLI's configuration (flags > environment > config file) and its identity
// commands against the real REST API (a real broker and authenticator in an in-process
// HttpServer, tests/coordinator/rest_fixture.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/config.h"
#include "cli/tables.h"
#include "coordinator/api/http_server.h"
#include "tests/api/test_tls.h"
#include "tests/cli/cli_api_bench.h"
#include "tests/store/test_dir.h"

namespace aifed::cli {
namespace {
namespace json = boost::json;
using ::testing::HasSubstr;
using testing_support::TestDir;

EnvLookup envOf(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

void write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

TEST(ClientConfigTest, DefaultsWithNothingSet) {
  TestDir dir;
  Result<ClientConfig> c = resolveClientConfig({}, envOf({{"HOME", dir.file("home")}}));
  ASSERT_TRUE(c.ok()) << c.status().toString();
  EXPECT_EQ(c->server, "https://127.0.0.1:7780");
  EXPECT_EQ(c->token, "");
  EXPECT_EQ(c->config_file, "");
}

TEST(ClientConfigTest, FlagBeatsEnvironmentBeatsFile) {
  TestDir dir;
  write(dir.file("home/.config/aifed/config.toml"),
        "server = \"https://file:1\"\ntoken = \"file-token\"\n");
  auto env = [&](std::map<std::string, std::string> extra) {
    extra["HOME"] = dir.file("home");
    return envOf(extra);
  };
  Result<ClientConfig> c = resolveClientConfig({}, env({}));
  ASSERT_TRUE(c.ok()) << c.status().toString();
  EXPECT_EQ(c->server, "https://file:1");
  EXPECT_EQ(c->token, "file-token");
  EXPECT_THAT(c->token_source, HasSubstr("config file"));

  c = resolveClientConfig({}, env({{"AIFED_SERVER", "https://env:2"}, {"AIFED_TOKEN", "env-t"}}));
  EXPECT_EQ(c->server, "https://env:2");
  EXPECT_EQ(c->token, "env-t");
  EXPECT_EQ(c->token_source, "AIFED_TOKEN");

  ClientSettings flags;
  flags.server = "https://flag:3";
  flags.token = "flag-t";
  c = resolveClientConfig(flags,
                          env({{"AIFED_SERVER", "https://env:2"}, {"AIFED_TOKEN", "env-t"}}));
  EXPECT_EQ(c->server, "https://flag:3");
  EXPECT_EQ(c->token, "flag-t");
  EXPECT_EQ(c->token_source, "--token");

  // The TLS settings follow the same order; a config file's ca_file is relative to it.
  write(dir.file("home/.config/aifed/config.toml"),
        "fingerprint = \"AA:BB\"\nca_file = \"ca.pem\"\n");
  c = resolveClientConfig({}, env({}));
  ASSERT_TRUE(c.ok()) << c.status().toString();
  EXPECT_EQ(c->fingerprint, "AA:BB");
  EXPECT_EQ(c->ca_file, dir.file("home/.config/aifed/ca.pem"));
  c = resolveClientConfig({}, env({{"AIFED_FINGERPRINT", "CC:DD"}}));
  EXPECT_EQ(c->fingerprint, "CC:DD");
}

TEST(ClientConfigTest, TokenFilesAreReadAndTrimmed) {
  TestDir dir;
  write(dir.file("t"), "  aifed_x  \n");
  ClientSettings flags;
  flags.token_file = dir.file("t");
  Result<ClientConfig> c = resolveClientConfig(flags, envOf({}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->token, "aifed_x");
  // A config file's token_file is relative to the file's directory.
  write(dir.file("conf/config.toml"), "token_file = \"secret/token\"\n");
  write(dir.file("conf/secret/token"), "aifed_y\n");
  c = resolveClientConfig({}, envOf({{"AIFED_CONFIG", dir.file("conf/config.toml")}}));
  ASSERT_TRUE(c.ok()) << c.status().toString();
  EXPECT_EQ(c->token, "aifed_y");
  // A flag's token file beats the environment's token.
  c = resolveClientConfig(flags, envOf({{"AIFED_TOKEN", "env"}}));
  EXPECT_EQ(c->token, "aifed_x");
}

TEST(ClientConfigTest, MistakesAreUsageErrorsNamingTheProblem) {
  TestDir dir;
  ClientSettings both;
  both.token = "a";
  both.token_file = dir.file("t");
  EXPECT_THAT(resolveClientConfig(both, envOf({})).status().message(), HasSubstr("not both"));
  ClientSettings missing;
  missing.token_file = dir.file("nope");
  EXPECT_THAT(resolveClientConfig(missing, envOf({})).status().message(),
              HasSubstr("token file: cannot read " + dir.file("nope") + ": No such file"));
  EXPECT_THAT(resolveClientConfig({}, envOf({{"AIFED_CONFIG", dir.file("absent.toml")}}))
                  .status()
                  .message(),
              HasSubstr("does not exist"));
  // The strict reader: a wrong type and an unknown key name the file, line and key.
  write(dir.file("bad.toml"), "# client\nserver = 7\n");
  EXPECT_EQ(
      resolveClientConfig({}, envOf({{"AIFED_CONFIG", dir.file("bad.toml")}})).status().message(),
      dir.file("bad.toml") + ":2: server: must be a string, got an integer");
  write(dir.file("typo.toml"), "server = \"https://h:1\"\nsever = \"x\"\n");
  EXPECT_EQ(
      resolveClientConfig({}, envOf({{"AIFED_CONFIG", dir.file("typo.toml")}})).status().message(),
      dir.file("typo.toml") + ":2: sever: unknown key (did you mean \"server\"?)");
  write(dir.file("broken.toml"), "server = \n");
  EXPECT_THAT(resolveClientConfig({}, envOf({{"AIFED_CONFIG", dir.file("broken.toml")}}))
                  .status()
                  .message(),
              HasSubstr("broken.toml:1"));
}

TEST_F(CliAgainstApi, NoTokenIsExit4WithAHint) {
  Run r = aifed("", {"sites"});
  EXPECT_EQ(r.code, kExitDenied);
  EXPECT_THAT(r.err, HasSubstr("not authenticated: pass --token or set AIFED_TOKEN"));
}

TEST_F(CliAgainstApi, WrongRoleIsExit4NamingRoleAndAction) {
  Run r = aifed("viewer", {"drain", "site-a", "--reason", "x"});
  EXPECT_EQ(r.code, kExitDenied);
  EXPECT_THAT(r.err, HasSubstr("permission denied: role viewer may not site.drain"));
  EXPECT_FALSE(svc_.broker().findSite("site-a")->drained);
}

TEST_F(CliAgainstApi, DrainResumeAndTheAuditLog) {
  Run r = aifed("operator", {"drain", "site-a", "--reason", "cooling repair"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Drained site site-a"));
  EXPECT_TRUE(svc_.broker().findSite("site-a")->drained);
  r = aifed("operator", {"resume", "site-a"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_FALSE(svc_.broker().findSite("site-a")->drained);

  r = aifed("viewer", {"audit"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("site.drain"));
  EXPECT_THAT(r.out, HasSubstr("cooling repair"));
  EXPECT_THAT(r.out, HasSubstr("operator (" + idOf("operator") + ")"));
  r = aifed("viewer", {"--json", "audit", "--action", "site.resume"});
  json::value v = json::parse(r.out);
  ASSERT_EQ(v.at("entries").as_array().size(), 1u);
  EXPECT_EQ(v.at("entries").as_array()[0].at("outcome"), "ok");
  EXPECT_EQ(aifed("submitter", {"audit"}).code, kExitDenied);
}

TEST_F(CliAgainstApi, TokenCreateListRevoke) {
  Run r = aifed("admin",
                {"token", "create", "--name", "ci", "--role", "submitter", "--scope", "p1,p2"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("shown once"));
  size_t at = r.out.find("aifed_");
  ASSERT_NE(at, std::string::npos);
  std::string secret = r.out.substr(at, r.out.find('\n', at) - at);
  std::string id = identity::parseToken(secret)->id;

  // The new token works from a token file.
  std::string file = dir_.file("ci.token");
  std::ofstream(file) << secret << "\n";
  std::vector<std::string> base = {
      "aifed",        "--server", "https://127.0.0.1:" + std::to_string(port_),
      "--token-file", file,       "whoami"};
  std::vector<char*> argv;
  for (auto& a : base) argv.push_back(a.data());
  std::ostringstream out, err;
  EXPECT_EQ(runCli(static_cast<int>(base.size()), argv.data(), out, err), kExitOk) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("submitter"));
  EXPECT_THAT(out.str(), HasSubstr("p1,p2"));

  r = aifed("admin", {"token", "list"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr(id));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr(secret)));

  r = aifed("admin", {"token", "revoke", id});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Revoked token " + id + " (ci)"));
  std::ostringstream out2, err2;
  EXPECT_EQ(runCli(static_cast<int>(base.size()), argv.data(), out2, err2), kExitDenied);
  EXPECT_THAT(err2.str(), HasSubstr("refused the token from --token-file"));
  EXPECT_THAT(err2.str(), HasSubstr("revoked"));

  r = aifed("operator", {"token", "list"});
  EXPECT_EQ(r.code, kExitDenied);
  EXPECT_THAT(r.err, HasSubstr("role operator may not token.manage"));
  r = aifed("admin", {"token", "create", "--name", "x", "--role", "wizard"});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_THAT(r.err, HasSubstr("field: role"));
}

TEST_F(CliAgainstApi, ProjectsPolicyHistoryAndJobFilters) {
  submitFor("p1", "h100", "submitter");  // the submitter token's user's job
  submitFor("p2");
  Run r = aifed("viewer", {"projects"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("GPU-H ALLOCATED"));
  EXPECT_THAT(r.out, HasSubstr("p2"));
  r = aifed("submitter", {"projects"});
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("p2")));
  r = aifed("viewer", {"project", "p1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("site-a"));
  EXPECT_THAT(r.out, HasSubstr("1000.0"));

  EXPECT_EQ(aifed("admin", {"policy", "--set", "green", "--reason", "wind"}).code, kExitOk);
  r = aifed("viewer", {"policy", "--history"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("green"));
  EXPECT_THAT(r.out, HasSubstr("wind"));
  EXPECT_THAT(r.out, HasSubstr("admin"));  // the actor is the token's name

  r = aifed("viewer", {"--json", "jobs", "--project", "p2", "--search", "j-"});
  EXPECT_EQ(json::parse(r.out).at("total"), 1);
  r = aifed("submitter", {"--json", "jobs"});
  EXPECT_EQ(json::parse(r.out).at("total"), 1);  // its own user's job in its project only
}

TEST_F(CliAgainstApi, TokenFromTheEnvironment) {
  setenv("AIFED_TOKEN", tokens_["viewer"].c_str(), 1);
  Run r = aifed("", {"whoami"});
  unsetenv("AIFED_TOKEN");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("viewer"));
}

TEST(CliTablesTest, RendersAuditTokensAndProjects) {
  json::value audit = json::parse(R"({"entries":[{"id":7,"at":0,"actor":"0123456789ab",
      "actor_name":"ops","role":"operator","action":"site.drain","target":"lumi",
      "remote_address":"10.1.1.1:5","outcome":"denied","detail":"why"}],"next_before":7})");
  std::string a = renderAudit(audit);
  EXPECT_THAT(a, HasSubstr("ops (0123456789ab)"));
  EXPECT_THAT(a, HasSubstr("older entries: --before 7"));
  std::string t = renderTokenList(json::parse(
      R"({"tokens":[{"id":"abc","name":"ci","role":"submitter","scope":["p1","p2"]}]})"));
  EXPECT_THAT(t, HasSubstr("p1,p2"));
  std::string p = renderProject(json::parse(
      R"({"id":"p1","allocations":[{"site":"lumi","allocated_gpu_hours":10,"used_gpu_hours":2.5}]})"));
  EXPECT_THAT(p, HasSubstr("lumi"));
  EXPECT_THAT(p, HasSubstr("2.5"));
  EXPECT_EQ(renderPolicyHistory(json::parse(R"({"history":[]})")),
            "No policy switches recorded.\n");
}

}  // namespace
}  // namespace aifed::cli
