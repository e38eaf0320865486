// OpenID Connect end to end: the real aifed-coordinator with an [oidc] issuer whose JWKS
// file is on disk, tokens signed here (tests/identity/test_issuer.h), the REST API over
// HTTPS and the aifed CLI (AIFED_TOKEN and --token) using them. The job belongs to the
// token's user, whatever the client says.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "common/files.h"
#include "tests/identity/test_issuer.h"
#include "tests/integration/local_federation_test.h"

namespace aifed::cli {
namespace {
namespace json = boost::json;
using aifed::testing_support::TestIssuer;
using aifed::testing_support::TestKey;

constexpr const char* kIssuer = "https://login.example.eu/realms/aifed";

struct CliRun {
  int code;
  std::string out, err;
};

class OidcIntegrationTest : public testing::LocalFederationTest {
 protected:
  void SetUp() override {
    LocalFederationOptions o;
    o.federation_file = std::string(AIFED_SOURCE_DIR) + "/config/federation-7.toml";
    ASSERT_NO_FATAL_FAILURE(prepareFederation("aifed-oidc", std::move(o)));
    std::string jwks = (state_ / "jwks.json").string();
    ASSERT_TRUE(common::writeFileAtomically(jwks, TestIssuer::jwks({&key_})).ok());
    std::ofstream(state_ / "coordinator.toml", std::ios::app)
        << "\n[oidc]\nleeway_s = 5\n[[oidc.issuer]]\nissuer = '" << kIssuer
        << "'\naudience = 'aifed'\njwks_file = 'jwks.json'\n"
        << "roles = [{ value = 'aifed-users', role = 'submitter' }]\n";
    ASSERT_NO_FATAL_FAILURE(startCoordinator());
  }

  std::string tokenFor(const std::string& user) {
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    return TestIssuer::sign(key_, json::object{{"iss", kIssuer},
                                               {"sub", "sub-" + user},
                                               {"aud", "aifed"},
                                               {"iat", now},
                                               {"exp", now + 600},
                                               {"preferred_username", user},
                                               {"groups", json::array{"aifed-users"}},
                                               {"aifed_projects", json::array{"nordic-llm"}}});
  }

  // The CLI in this process, with the server and its fingerprint from the environment.
  CliRun cli(std::vector<std::string> args) {
    setenv("AIFED_SERVER", fed_->baseUrl().c_str(), 1);
    setenv("AIFED_FINGERPRINT", fed_->tlsFingerprint().c_str(), 1);
    args.insert(args.begin(), "aifed");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::ostringstream out, err;
    int code = runCli(static_cast<int>(args.size()), argv.data(), out, err);
    unsetenv("AIFED_SERVER");
    unsetenv("AIFED_FINGERPRINT");
    return {code, out.str(), err.str()};
  }

  HttpResult request(const std::string& bearer, const std::string& method,
                     const std::string& target, const std::string& body = "") {
    HttpClientOptions o = fed_->clientOptions();
    o.bearer_token = bearer;
    HttpClient client(fed_->baseUrl(), o);
    Result<HttpResult> r = client.request(method, target, body);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? *r : HttpResult{};
  }

  TestKey key_ = TestKey::rsa("idp-rsa-1");
};

TEST_F(OidcIntegrationTest, AnOidcUsersJobIsTheirsThroughRestAndTheCli) {
  // REST: the owner is the token's user; naming another one is refused.
  std::string erin = tokenFor("erin");
  const std::string spec =
      R"({"nodes":1,"gpus_per_node":4,"gpu_type":"h200","walltime_s":600,"project":"nordic-llm")";
  HttpResult job = request(erin, "POST", "/api/v1/jobs", spec + "}");
  ASSERT_EQ(job.status, 201) << job.body;
  EXPECT_EQ(json::parse(job.body).at("spec").at("user"), "erin");
  HttpResult root = request(erin, "POST", "/api/v1/jobs", spec + R"(,"user":"root"})");
  EXPECT_EQ(root.status, 403) << root.body;
  EXPECT_NE(root.body.find("for user \\\"root\\\""), std::string::npos) << root.body;

  // The CLI with AIFED_TOKEN: submit (no --user: the token's user), then show the job.
  setenv("AIFED_TOKEN", erin.c_str(), 1);
  CliRun submitted = cli({"submit", "-N", "1", "--gpus-per-node", "4", "--gpu-type", "h200",
                          "-t", "10", "-A", "nordic-llm"});
  unsetenv("AIFED_TOKEN");
  ASSERT_EQ(submitted.code, 0) << submitted.out << submitted.err;
  size_t at = submitted.out.find("Submitted job ");
  ASSERT_NE(at, std::string::npos) << submitted.out;
  std::string id = submitted.out.substr(at + 14, submitted.out.find_first_of(":\n", at + 14) - at - 14);
  std::string first(json::parse(job.body).at("id").as_string());
  ASSERT_NE(id, first);
  // --token: the same user sees it, owned by erin.
  CliRun shown = cli({"--token", erin, "job", id});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_NE(shown.out.find("erin"), std::string::npos) << shown.out;
  CliRun who = cli({"--token", erin, "whoami"});
  EXPECT_NE(who.out.find("erin"), std::string::npos) << who.out;
  EXPECT_NE(who.out.find("submitter"), std::string::npos) << who.out;
  // Another OIDC user sees neither of erin's jobs.
  CliRun other = cli({"--token", tokenFor("frank"), "jobs"});
  ASSERT_EQ(other.code, 0) << other.err;
  EXPECT_EQ(other.out.find(first), std::string::npos) << other.out;
  EXPECT_EQ(other.out.find(id + " "), std::string::npos) << other.out;
  EXPECT_EQ(cli({"--token", erin, "jobs"}).out.find(id + " ") != std::string::npos, true);

  // The audit log names the OIDC principal.
  HttpResult audit = request(fed_->adminToken(), "GET", "/api/v1/audit?action=job.submit");
  ASSERT_EQ(audit.status, 200);
  json::array entries = json::parse(audit.body).at("entries").as_array();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].at("actor"), "oidc:sub-erin");
  EXPECT_EQ(entries[1].at("outcome"), "denied");

  // A token whose key was removed from the JWKS file is refused from then on.
  ASSERT_TRUE(
      common::writeFileAtomically((state_ / "jwks.json").string(), TestIssuer::jwks({})).ok());
  HttpResult refused = request(erin, "GET", "/api/v1/jobs");
  EXPECT_EQ(refused.status, 401);
  EXPECT_NE(refused.body.find("unknown key id"), std::string::npos) << refused.body;
}

}  // namespace
}  // namespace aifed::cli
