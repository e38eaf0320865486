// Owners come from authentication (docs/security.md, "Job owners"): a job's user is the
// token's (or the OpenID Connect token's) user; only admin and portal tokens submit for
// someone else, and the audit row says for whom. Through the router with the bench's
// tokens (rest_fixture.h) and OIDC tokens signed in the test (tests/identity/test_issuer.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/files.h"
#include "tests/coordinator/rest_fixture.h"
#include "tests/identity/test_issuer.h"

namespace aifed::coordinator {
namespace {
namespace json = boost::json;
using ::testing::HasSubstr;
using testing_support::RestBench;
using aifed::testing_support::TestIssuer;
using aifed::testing_support::TestKey;

std::string jobBody(const std::string& project, const std::string& user = "") {
  json::object spec{{"nodes", 1}, {"gpus_per_node", 4}, {"gpu_type", "h100"},
                    {"walltime_s", 3600}, {"project", project}};
  if (!user.empty()) spec["user"] = user;
  return json::serialize(spec);
}

class RestOwnerTest : public RestBench {
 protected:
  RestOwnerTest() {
    tokens_["portal"] = addToken("portal", identity::Role::kPortal, {"p1"});
    tokens_["alice"] = addToken("alice", identity::Role::kSubmitter, {"p1"});
    tokens_["bob"] = addToken("bob", identity::Role::kSubmitter, {"p1"});
    bringUp("site-a", 16);
  }
  const identity::AuditRecord& lastAudit() { return svc_.audit.back(); }
};

TEST_F(RestOwnerTest, ASubmitterCannotNameAnotherUser) {
  json::value refused = call("POST", "/api/v1/jobs", 403, jobBody("p1", "root"), "submitter");
  EXPECT_EQ(refused.at("error").at("code"), "permission_denied");
  std::string message(refused.at("error").at("message").as_string());
  EXPECT_THAT(message, HasSubstr("for user \"root\""));
  EXPECT_THAT(message, HasSubstr("as its own user \"submitter\" only"));
  EXPECT_EQ(svc_.broker().findJob("j-1"), nullptr) << "nothing was accepted";
  EXPECT_EQ(lastAudit().action, "job.submit");
  EXPECT_EQ(lastAudit().outcome, "denied");
  EXPECT_EQ(lastAudit().actor, idOf("submitter"));
  EXPECT_THAT(lastAudit().detail, HasSubstr("root"));
}

TEST_F(RestOwnerTest, TheJobsUserIsTheTokensUser) {
  json::value unnamed = call("POST", "/api/v1/jobs", 201, jobBody("p1"), "submitter");
  EXPECT_EQ(unnamed.at("spec").at("user"), "submitter");
  json::value same = call("POST", "/api/v1/jobs", 201, jobBody("p1", "submitter"), "submitter");
  EXPECT_EQ(same.at("spec").at("user"), "submitter");
  EXPECT_EQ(svc_.broker().findJob(std::string(same.at("id").as_string()))->spec.user, "submitter");
  EXPECT_EQ(lastAudit().on_behalf_of, "") << "its own user: no one else's behalf";
  EXPECT_EQ(lastAudit().outcome, "ok");
}

TEST_F(RestOwnerTest, PortalAndAdminSubmitForOthersAndTheAuditRowSaysSo) {
  for (const char* who : {"portal", "admin"}) {
    json::value job = call("POST", "/api/v1/jobs", 201, jobBody("p1", "carol"), who);
    EXPECT_EQ(job.at("spec").at("user"), "carol") << who;
    const identity::AuditRecord& row = lastAudit();
    EXPECT_EQ(row.action, "job.submit");
    EXPECT_EQ(row.outcome, "ok");
    EXPECT_EQ(row.actor, idOf(who)) << "the acting principal";
    EXPECT_EQ(row.role, who);
    EXPECT_EQ(row.on_behalf_of, "carol") << "the user submitted for";
    EXPECT_EQ(row.target, std::string(job.at("id").as_string()));
  }
  // The audit log's JSON carries it too.
  json::value log = call("GET", "/api/v1/audit?action=job.submit", 200);
  EXPECT_EQ(log.at("entries").as_array()[0].at("on_behalf_of"), "carol");
  // A portal without a user named submits as itself; outside its projects it may not.
  EXPECT_EQ(call("POST", "/api/v1/jobs", 201, jobBody("p1"), "portal").at("spec").at("user"),
            "portal");
  call("POST", "/api/v1/jobs", 403, jobBody("p2", "carol"), "portal");
}

TEST_F(RestOwnerTest, SubmittersSeeAndCancelTheirOwnUsersJobsOnly) {
  std::string alices = std::string(
      call("POST", "/api/v1/jobs", 201, jobBody("p1"), "alice").at("id").as_string());
  std::string bobs =
      std::string(call("POST", "/api/v1/jobs", 201, jobBody("p1"), "bob").at("id").as_string());
  json::value list = call("GET", "/api/v1/jobs", 200, "", "alice");
  ASSERT_EQ(list.at("total"), 1);
  EXPECT_EQ(list.at("jobs").as_array()[0].at("id"), json::value(alices));
  call("GET", "/api/v1/jobs/" + bobs, 404, "", "alice");
  call("POST", "/api/v1/jobs/" + bobs + "/cancel", 404, "", "alice");
  EXPECT_FALSE(svc_.broker().findJob(bobs)->cancel_requested);
  call("POST", "/api/v1/jobs/" + alices + "/cancel", 200, "", "alice");
  // The portal acts for every user of its projects.
  EXPECT_EQ(call("GET", "/api/v1/jobs", 200, "", "portal").at("total"), 2);
  call("POST", "/api/v1/jobs/" + bobs + "/cancel", 200, "", "portal");
}

TEST_F(RestOwnerTest, TokensAreCreatedWithAUser) {
  json::value t = call("POST", "/api/v1/tokens", 201,
                       R"({"name":"ci","role":"submitter","scope":["p1"],"user":"carol"})");
  EXPECT_EQ(t.at("user"), "carol");
  EXPECT_EQ(auth_.tokens().find(std::string(t.at("id").as_string()))->user, "carol");
  // No user: the name, when it is a user name.
  EXPECT_EQ(call("POST", "/api/v1/tokens", 201, R"({"name":"dave","role":"viewer"})").at("user"),
            "dave");
  json::value bad = call("POST", "/api/v1/tokens", 400, R"({"name":"my ci","role":"viewer"})");
  EXPECT_EQ(bad.at("error").at("field"), "user");
  EXPECT_THAT(std::string(bad.at("error").at("message").as_string()), HasSubstr("token's name"));
  json::value portal =
      call("POST", "/api/v1/tokens", 201, R"({"name":"gw","role":"portal","scope":["p1"]})");
  EXPECT_EQ(portal.at("role"), "portal");
  call("POST", "/api/v1/tokens", 400, R"({"name":"gw2","role":"portal"})");  // needs projects
}

// A token made before tokens had users, whose name is no user name, may not submit.
TEST_F(RestOwnerTest, ATokenWithoutAUserCannotSubmit) {
  tokens_["legacy"] = addToken("legacy ci", identity::Role::kSubmitter, {"p1"});
  auth_.tokens().findMutable(idOf("legacy"))->user.clear();
  json::value refused = call("POST", "/api/v1/jobs", 403, jobBody("p1"), "legacy");
  EXPECT_THAT(std::string(refused.at("error").at("message").as_string()),
              HasSubstr("belongs to no user"));
}

// --- OpenID Connect ---

class RestOidcTest : public RestOwnerTest {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "aifed-rest-oidc-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::string jwks = (dir_ / "jwks.json").string();
    ASSERT_TRUE(common::writeFileAtomically(jwks, TestIssuer::jwks({&key_})).ok());
    identity::OidcIssuer issuer;
    issuer.issuer = "https://idp.example.eu";
    issuer.audience = "aifed";
    issuer.jwks_file = jwks;
    issuer.roles = {{"aifed-portals", identity::Role::kPortal},
                    {"aifed-users", identity::Role::kSubmitter}};
    identity::OidcConfig config;
    config.issuers = {issuer};
    oidc_ = std::make_unique<identity::OidcVerifier>(config, files_);
    auth_.setOidc(oidc_.get());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A token for `user` valid for five minutes from the bench's clock.
  std::string tokenFor(const std::string& user, const std::string& group = "aifed-users",
                       int64_t exp_in_s = 300) {
    int64_t now_s = toMillis(svc_.now()) / 1000;
    return TestIssuer::sign(key_, json::object{{"iss", "https://idp.example.eu"},
                                               {"sub", "sub-" + user},
                                               {"aud", "aifed"},
                                               {"exp", now_s + exp_in_s},
                                               {"preferred_username", user},
                                               {"groups", json::array{group}},
                                               {"aifed_projects", json::array{"p1"}}});
  }
  json::value callWith(const std::string& bearer, const std::string& method,
                       const std::string& target, int status, const std::string& body = "") {
    api::HttpRequest r = request(method, target, body, "");
    r.headers["authorization"] = "Bearer " + bearer;
    api::HttpResponse resp = send(r);
    EXPECT_EQ(resp.status, status) << method << " " << target << ": " << resp.body;
    return resp.body.empty() ? json::value(nullptr) : json::parse(resp.body);
  }

  std::filesystem::path dir_;
  TestKey key_ = TestKey::ec("idp-1");
  identity::FileReaderImpl files_;
  std::unique_ptr<identity::OidcVerifier> oidc_;
};

TEST_F(RestOidcTest, AnOidcTokenSubmitsAsItsUserEndToEnd) {
  std::string erin = tokenFor("erin");
  json::value session = callWith(erin, "GET", "/api/v1/session", 200);
  EXPECT_EQ(session.at("user"), "erin");
  EXPECT_EQ(session.at("role"), "submitter");
  EXPECT_EQ(session.at("issuer"), "https://idp.example.eu");
  json::value job = callWith(erin, "POST", "/api/v1/jobs", 201, jobBody("p1"));
  EXPECT_EQ(job.at("spec").at("user"), "erin");
  EXPECT_EQ(lastAudit().actor, "oidc:sub-erin");
  EXPECT_EQ(lastAudit().actor_name, "erin");
  std::string id(job.at("id").as_string());
  EXPECT_EQ(callWith(erin, "GET", "/api/v1/jobs", 200).at("total"), 1);
  callWith(erin, "GET", "/api/v1/jobs/" + id, 200);
  // Another OIDC user of the same project sees nothing of erin's, nor may name her.
  std::string frank = tokenFor("frank");
  EXPECT_EQ(callWith(frank, "GET", "/api/v1/jobs", 200).at("total"), 0);
  callWith(frank, "POST", "/api/v1/jobs", 403, jobBody("p1", "erin"));
  // A portal's OIDC token may.
  json::value for_erin =
      callWith(tokenFor("gateway", "aifed-portals"), "POST", "/api/v1/jobs", 201, jobBody("p1", "erin"));
  EXPECT_EQ(for_erin.at("spec").at("user"), "erin");
  EXPECT_EQ(lastAudit().on_behalf_of, "erin");
}

TEST_F(RestOidcTest, RefusedOidcTokensAre401WithTheirReason) {
  json::value expired = callWith(tokenFor("erin", "aifed-users", -120), "POST", "/api/v1/jobs",
                                 401, jobBody("p1"));
  EXPECT_EQ(expired.at("error").at("code"), "unauthenticated");
  EXPECT_THAT(std::string(expired.at("error").at("message").as_string()),
              ::testing::StartsWith("token expired: "));
  EXPECT_EQ(expired.at("error").at("field"), "token.exp");
  EXPECT_EQ(lastAudit().outcome, "denied");
  json::value unmapped = callWith(tokenFor("erin", "staff"), "GET", "/api/v1/jobs", 401);
  EXPECT_EQ(unmapped.at("error").at("field"), "token.groups");
  // Without [oidc], a JWT is refused naming that, not as a malformed aifed token.
  auth_.setOidc(nullptr);
  json::value off = callWith(tokenFor("erin"), "GET", "/api/v1/jobs", 401);
  EXPECT_THAT(std::string(off.at("error").at("message").as_string()), HasSubstr("[oidc]"));
}

}  // namespace
}  // namespace aifed::coordinator
