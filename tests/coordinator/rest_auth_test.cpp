// Authentication, authorization, CSRF, isolation and audit of the REST API v1, through
// the router with one token per role (tests/coordinator/rest_fixture.h); then the same
// API behind a real HttpServer for oversized and malformed requests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <set>
#include <thread>

#include "cli/http_client.h"
#include "tests/api/test_tls.h"
#include "tests/coordinator/rest_fixture.h"

namespace aifed::coordinator {
namespace {
namespace json = boost::json;
using ::testing::HasSubstr;
using testing_support::RestBench;

using RestAuthTest = RestBench;

const std::string kJobP1 =
    R"({"nodes":1,"gpus_per_node":4,"gpu_type":"h100","walltime_s":3600,"project":"p1"})";

// Every authenticated route, with a body where one is needed.
struct Route {
  std::string method;
  std::string target;
  std::string body;
};
std::vector<Route> protectedRoutes() {
  return {
      {"GET", "/api/v1/session", ""},
      {"DELETE", "/api/v1/session", ""},
      {"POST", "/api/v1/jobs", kJobP1},
      {"GET", "/api/v1/jobs", ""},
      {"GET", "/api/v1/jobs/j-1", ""},
      {"POST", "/api/v1/jobs/j-1/cancel", ""},
      {"GET", "/api/v1/jobs/j-1/explain", ""},
      {"GET", "/api/v1/sites", ""},
      {"GET", "/api/v1/sites/site-a", ""},
      {"POST", "/api/v1/sites/site-a/drain", ""},
      {"POST", "/api/v1/sites/site-a/resume", ""},
      {"GET", "/api/v1/policy", ""},
      {"PUT", "/api/v1/policy", R"({"name":"green"})"},
      {"GET", "/api/v1/policy/history", ""},
      {"GET", "/api/v1/projects", ""},
      {"GET", "/api/v1/projects/p1", ""},
      {"GET", "/api/v1/tokens", ""},
      {"POST", "/api/v1/tokens", R"({"name":"x","role":"viewer"})"},
      {"DELETE", "/api/v1/tokens/0123456789ab", ""},
      {"GET", "/api/v1/audit", ""},
      {"GET", "/api/v1/federation", ""},
  };
}

TEST_F(RestAuthTest, NoTokenIs401OnEveryProtectedRoute) {
  for (const Route& r : protectedRoutes()) {
    api::HttpResponse resp = send(request(r.method, r.target, r.body, ""));
    EXPECT_EQ(resp.status, 401) << r.method << " " << r.target;
    EXPECT_THAT(resp.body, HasSubstr("\"code\":\"unauthenticated\"")) << r.target;
    bool challenged = false;
    for (auto& [k, v] : resp.headers)
      challenged |= k == "WWW-Authenticate" && v.starts_with("Bearer");
    EXPECT_TRUE(challenged) << r.target;
  }
  EXPECT_TRUE(svc_.broker().listJobs(std::nullopt, "", 0, 10).empty());  // nothing submitted
  EXPECT_FALSE(svc_.broker().findSite("site-a")->drained);
}

TEST_F(RestAuthTest, ForgedMalformedAndOtherSchemeCredentialsAre401) {
  std::string forged = tokens_["admin"];
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  for (std::string header : {"Bearer " + forged, std::string("Bearer aifed_nope"),
                             std::string("Basic YWRtaW46YWRtaW4="), std::string("Bearer ")}) {
    api::HttpRequest r = request("GET", "/api/v1/sites", "", "");
    r.headers["authorization"] = header;
    EXPECT_EQ(send(r).status, 401) << header;
  }
}

TEST_F(RestAuthTest, HealthAndLoginArePublic) {
  json::value h = call("GET", "/api/v1/health", 200, "", "");
  EXPECT_EQ(h.at("status"), "degraded");  // no site has said HELLO
  EXPECT_EQ(h.at("sites_total"), 2);
  bringUp("site-a", 16);
  bringUp("site-b", 16);
  EXPECT_EQ(call("GET", "/api/v1/health", 200, "", "").at("status"), "ok");
}

TEST_F(RestAuthTest, RevokedTokenIs401AndTheLastAdminCannotBeRevoked) {
  call("GET", "/api/v1/sites", 200, "", "viewer");
  json::value revoked = call("DELETE", "/api/v1/tokens/" + idOf("viewer"), 200);
  EXPECT_EQ(revoked.at("revoked"), true);
  EXPECT_TRUE(svc_.saved_tokens.at(idOf("viewer")).revoked_at.has_value());  // made durable
  json::value e = call("GET", "/api/v1/sites", 401, "", "viewer");
  EXPECT_THAT(std::string(e.at("error").at("message").as_string()), HasSubstr("revoked"));
  // Revoking again is harmless; revoking the only admin would lock everyone out.
  call("DELETE", "/api/v1/tokens/" + idOf("viewer"), 200);
  json::value last = call("DELETE", "/api/v1/tokens/" + idOf("admin"), 409);
  EXPECT_THAT(std::string(last.at("error").at("message").as_string()), HasSubstr("last admin"));
  call("DELETE", "/api/v1/tokens/ffffffffffff", 404);
}

// One row per (mutating route, role): the status each role gets. A submitter of p2 is
// refused a p1 job's cancel with 404 (it may not know the job exists).
TEST_F(RestAuthTest, WrongRoleIs403OnEveryMutatingRoute) {
  bringUp("site-a", 16);
  struct Case {
    std::string name;
    std::function<Route()> route;  // a fresh target per call (a job to cancel, ...)
    std::map<std::string, int> status_by_role;
  };
  auto cancelRoute = [this] {
    // The submitter's own job (a submitter cancels its own user's jobs only).
    return Route{"POST", "/api/v1/jobs/" + submitFor("p1", "h100", "submitter") + "/cancel", ""};
  };
  auto spareTokenRoute = [this] {
    std::string id = identity::parseToken(addToken("spare", identity::Role::kViewer, {}))->id;
    return Route{"DELETE", "/api/v1/tokens/" + id, ""};
  };
  const std::vector<Case> cases = {
      {"submit p1",
       [] {
         return Route{"POST", "/api/v1/jobs", kJobP1};
       },
       {{"admin", 201},
        {"operator", 403},
        {"viewer", 403},
        {"submitter", 201},
        {"submitter2", 403},
        {"site-admin", 403}}},
      {"cancel a p1 job at site-a",
       cancelRoute,
       {{"admin", 200},
        {"operator", 200},
        {"viewer", 403},
        {"submitter", 200},
        {"submitter2", 404},
        {"site-admin", 200}}},
      {"drain site-a",
       [] {
         return Route{"POST", "/api/v1/sites/site-a/drain", R"({"reason":"maintenance"})"};
       },
       {{"admin", 200},
        {"operator", 200},
        {"viewer", 403},
        {"submitter", 403},
        {"submitter2", 403},
        {"site-admin", 200}}},
      {"drain site-b",
       [] {
         return Route{"POST", "/api/v1/sites/site-b/drain", ""};
       },
       {{"admin", 200},
        {"operator", 200},
        {"viewer", 403},
        {"submitter", 403},
        {"submitter2", 403},
        {"site-admin", 403}}},
      {"resume site-a",
       [] {
         return Route{"POST", "/api/v1/sites/site-a/resume", ""};
       },
       {{"admin", 200},
        {"operator", 200},
        {"viewer", 403},
        {"submitter", 403},
        {"submitter2", 403},
        {"site-admin", 200}}},
      {"set policy",
       [] {
         return Route{"PUT", "/api/v1/policy", R"({"name":"green","reason":"r"})"};
       },
       {{"admin", 200},
        {"operator", 403},
        {"viewer", 403},
        {"submitter", 403},
        {"submitter2", 403},
        {"site-admin", 403}}},
      {"create token",
       [] {
         return Route{"POST", "/api/v1/tokens", R"({"name":"n","role":"viewer"})"};
       },
       {{"admin", 201},
        {"operator", 403},
        {"viewer", 403},
        {"submitter", 403},
        {"submitter2", 403},
        {"site-admin", 403}}},
      {"revoke token",
       spareTokenRoute,
       {{"admin", 200},
        {"operator", 403},
        {"viewer", 403},
        {"submitter", 403},
        {"submitter2", 403},
        {"site-admin", 403}}},
  };
  for (const Case& c : cases) {
    for (const auto& [role, status] : c.status_by_role) {
      Route r = c.route();
      size_t audit_before = svc_.audit.size();
      api::HttpResponse resp = send(request(r.method, r.target, r.body, role));
      EXPECT_EQ(resp.status, status) << c.name << " as " << role << ": " << resp.body;
      if (status == 403) {
        json::value e = json::parse(resp.body);
        EXPECT_EQ(e.at("error").at("code"), "permission_denied");
        std::string message(e.at("error").at("message").as_string());
        EXPECT_THAT(message,
                    HasSubstr("role " + std::string(role == "submitter2" ? "submitter" : role)))
            << message;
      }
      // Every attempt, allowed or not, leaves exactly one audit row naming the actor.
      ASSERT_EQ(svc_.audit.size(), audit_before + 1) << c.name << " as " << role;
      const identity::AuditRecord& a = svc_.audit.back();
      EXPECT_EQ(a.actor, idOf(role));
      EXPECT_EQ(a.actor_name, role);
      EXPECT_EQ(a.remote_address, "10.0.0.1:5000");
      EXPECT_EQ(a.outcome, status < 300 ? "ok" : "denied") << c.name << " as " << role;
    }
  }
}

TEST_F(RestAuthTest, ReadOnlyRoutesForAdminsOnly) {
  for (const char* role : {"operator", "viewer", "submitter", "site-admin"}) {
    call("GET", "/api/v1/tokens", 403, "", role);
  }
  for (const char* role : {"submitter", "site-admin"}) call("GET", "/api/v1/audit", 403, "", role);
  for (const char* role : {"admin", "operator", "viewer"})
    call("GET", "/api/v1/audit", 200, "", role);
}

TEST_F(RestAuthTest, SubmitterNeverSeesAnotherProjectsJobs) {
  bringUp("site-a", 16);
  std::string mine = submitFor("p1", "h100", "submitter");
  std::string theirs = submitFor("p2", "h100", "submitter");
  json::value list = call("GET", "/api/v1/jobs", 200, "", "submitter");
  ASSERT_EQ(list.at("jobs").as_array().size(), 1u);
  EXPECT_EQ(list.at("jobs").as_array()[0].at("id"), json::value(mine));
  EXPECT_EQ(list.at("total"), 1);
  // Asking for the other project's jobs explicitly gives nothing either.
  EXPECT_EQ(call("GET", "/api/v1/jobs?project=p2", 200, "", "submitter").at("total"), 0);
  EXPECT_EQ(call("GET", "/api/v1/jobs?q=" + theirs, 200, "", "submitter").at("total"), 0);
  // Get, explain and cancel answer exactly as for a job that does not exist.
  json::value missing = call("GET", "/api/v1/jobs/j-999", 404, "", "submitter");
  json::value hidden = call("GET", "/api/v1/jobs/" + theirs, 404, "", "submitter");
  EXPECT_EQ(hidden.at("error").at("code"), missing.at("error").at("code"));
  call("GET", "/api/v1/jobs/" + theirs + "/explain", 404, "", "submitter");
  call("POST", "/api/v1/jobs/" + theirs + "/cancel", 404, "", "submitter");
  EXPECT_FALSE(svc_.broker().findJob(theirs)->cancel_requested);
  EXPECT_EQ(svc_.audit.back().outcome, "denied");  // the attempt is on record all the same
  call("GET", "/api/v1/jobs/" + mine, 200, "", "submitter");
  call("GET", "/api/v1/jobs/" + mine + "/explain", 200, "", "submitter");
  // Projects: its own only.
  json::value projects = call("GET", "/api/v1/projects", 200, "", "submitter");
  ASSERT_EQ(projects.at("projects").as_array().size(), 1u);
  EXPECT_EQ(projects.at("projects").as_array()[0].at("id"), "p1");
  call("GET", "/api/v1/projects/p2", 404, "", "submitter");
  // Others see both.
  EXPECT_EQ(call("GET", "/api/v1/jobs", 200, "", "viewer").at("total"), 2);
}

TEST_F(RestAuthTest, SiteAdminSeesJobsPlacedAtItsSite) {
  bringUp("site-a", 16);
  bringUp("site-b", 16);
  std::string at_a = submitFor("p1", "h100");
  std::string at_b = submitFor("p1", "a100");
  ASSERT_EQ(svc_.broker().findJob(at_b)->site, "site-b");
  json::value list = call("GET", "/api/v1/jobs", 200, "", "site-admin");
  ASSERT_EQ(list.at("total"), 1);
  EXPECT_EQ(list.at("jobs").as_array()[0].at("id"), json::value(at_a));
  call("GET", "/api/v1/jobs/" + at_b, 404, "", "site-admin");
  call("POST", "/api/v1/jobs/" + at_b + "/cancel", 404, "", "site-admin");
  call("POST", "/api/v1/jobs/" + at_a + "/cancel", 200, "", "site-admin");
}

TEST_F(RestAuthTest, JobListFiltersAndPages) {
  bringUp("site-a", 16);
  bringUp("site-b", 16);
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i)
    ids.push_back(submitFor(i % 3 ? "p1" : "p2", i % 2 ? "a100" : "h100"));
  EXPECT_EQ(call("GET", "/api/v1/jobs", 200).at("total"), 12);
  EXPECT_EQ(call("GET", "/api/v1/jobs?project=p2", 200).at("total"), 4);
  EXPECT_EQ(call("GET", "/api/v1/jobs?site=site-b", 200).at("total"), 6);
  EXPECT_EQ(call("GET", "/api/v1/jobs?site=site-b&project=p2", 200).at("total"), 2);  // 3, 9
  EXPECT_EQ(call("GET", "/api/v1/jobs?q=j-1", 200).at("total"), 4);  // j-1, j-10, j-11, j-12
  EXPECT_EQ(call("GET", "/api/v1/jobs?state=running", 200).at("total"), 0);
  // Newest first by default; sort=submitted pages oldest first.
  json::value page = call("GET", "/api/v1/jobs?limit=5&offset=10", 200);
  EXPECT_EQ(page.at("total"), 12);
  ASSERT_EQ(page.at("jobs").as_array().size(), 2u);
  EXPECT_EQ(page.at("jobs").as_array()[0].at("id"), json::value(ids[1]));
  EXPECT_EQ(page.at("jobs").as_array()[1].at("id"), json::value(ids[0]));
  json::value oldest = call("GET", "/api/v1/jobs?limit=5&offset=10&sort=submitted", 200);
  ASSERT_EQ(oldest.at("jobs").as_array().size(), 2u);
  EXPECT_EQ(oldest.at("jobs").as_array()[0].at("id"), json::value(ids[10]));
  json::value bad = call("GET", "/api/v1/jobs?state=sleeping", 400);
  EXPECT_EQ(bad.at("error").at("field"), "state");
  EXPECT_EQ(call("GET", "/api/v1/jobs?limit=x", 400).at("error").at("field"), "limit");
}

TEST_F(RestAuthTest, ConsoleSessionCookiesAndCsrf) {
  bringUp("site-a", 16);
  api::HttpResponse login =
      send(request("POST", "/api/v1/session",
                   json::serialize(json::object{{"token", tokens_["operator"]}}), ""));
  ASSERT_EQ(login.status, 200) << login.body;
  json::value body = json::parse(login.body);
  EXPECT_EQ(body.at("role"), "operator");
  EXPECT_EQ(body.at("token_id"), json::value(idOf("operator")));
  EXPECT_EQ(body.at("expires_at"), toMillis(svc_.now() + api::SessionStore::kLifetime));
  std::string csrf(body.at("csrf_token").as_string());
  std::string session, csrf_cookie;
  for (auto& [k, v] : login.headers) {
    if (k != "Set-Cookie") continue;
    if (v.starts_with("aifed_session=")) session = v;
    if (v.starts_with("aifed_csrf=")) csrf_cookie = v;
  }
  EXPECT_THAT(session, HasSubstr("HttpOnly; Secure; SameSite=Strict; Path=/"));
  EXPECT_THAT(csrf_cookie, HasSubstr("aifed_csrf=" + csrf + "; Secure; SameSite=Strict"));
  std::string session_id = session.substr(14, session.find(';') - 14);

  auto withCookie = [&](const std::string& method, const std::string& target) {
    api::HttpRequest r = request(method, target, "", "");
    r.headers["cookie"] = "aifed_session=" + session_id + "; aifed_csrf=" + csrf;
    return r;
  };
  // Reads need no CSRF token.
  EXPECT_EQ(send(withCookie("GET", "/api/v1/sites")).status, 200);
  json::value whoami = json::parse(send(withCookie("GET", "/api/v1/session")).body);
  EXPECT_EQ(whoami.at("csrf_token"), json::value(csrf));
  // A change with the cookie alone is refused, and audited as such.
  api::HttpResponse forged = send(withCookie("POST", "/api/v1/sites/site-a/drain"));
  EXPECT_EQ(forged.status, 403);
  EXPECT_THAT(forged.body, HasSubstr("CSRF check failed"));
  EXPECT_FALSE(svc_.broker().findSite("site-a")->drained);
  EXPECT_EQ(svc_.audit.back().outcome, "denied");
  EXPECT_EQ(svc_.audit.back().action, "site.drain");
  // A wrong Origin is refused even with the token.
  api::HttpRequest cross = withCookie("POST", "/api/v1/sites/site-a/drain");
  cross.headers["x-csrf-token"] = csrf;
  cross.headers["origin"] = "https://attacker.example";
  EXPECT_EQ(send(cross).status, 403);
  // With the header (and a same-origin Origin) it goes through.
  api::HttpRequest good = withCookie("POST", "/api/v1/sites/site-a/drain");
  good.headers["x-csrf-token"] = csrf;
  good.headers["origin"] = "https://127.0.0.1:7780";
  EXPECT_EQ(send(good).status, 200);
  EXPECT_TRUE(svc_.broker().findSite("site-a")->drained);
  // Bearer requests carry no ambient credential and need no CSRF token.
  call("POST", "/api/v1/sites/site-a/resume", 200, "", "operator");
  // Logout ends the session.
  api::HttpRequest logout = withCookie("DELETE", "/api/v1/session");
  logout.headers["x-csrf-token"] = csrf;
  api::HttpResponse out = send(logout);
  EXPECT_EQ(out.status, 204);
  EXPECT_EQ(send(withCookie("GET", "/api/v1/sites")).status, 401);
}

TEST_F(RestAuthTest, SessionsExpireAfterTwelveHours) {
  api::HttpResponse login = send(request(
      "POST", "/api/v1/session", json::serialize(json::object{{"token", tokens_["viewer"]}}), ""));
  ASSERT_EQ(login.status, 200);
  std::string cookie = login.headers[0].second;
  std::string id = cookie.substr(14, cookie.find(';') - 14);
  api::HttpRequest r = request("GET", "/api/v1/sites", "", "");
  r.headers["cookie"] = "aifed_session=" + id;
  EXPECT_EQ(send(r).status, 200);
  svc_.clock.advance(std::chrono::hours(12));
  EXPECT_EQ(send(r).status, 401);
}

TEST_F(RestAuthTest, FailedLoginsAreRefusedAndAudited) {
  std::string forged = tokens_["admin"];
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  json::value e =
      call("POST", "/api/v1/session", 401, json::serialize(json::object{{"token", forged}}), "");
  EXPECT_EQ(e.at("error").at("code"), "unauthenticated");
  ASSERT_FALSE(svc_.audit.empty());
  EXPECT_EQ(svc_.audit.back().action, "session.login");
  EXPECT_EQ(svc_.audit.back().outcome, "denied");
  EXPECT_EQ(svc_.audit.back().actor, idOf("admin"));  // the id it claimed
  EXPECT_EQ(call("POST", "/api/v1/session", 400, "{}", "").at("error").at("field"), "token");
  call("POST", "/api/v1/session", 400, "nope", "");
}

TEST_F(RestAuthTest, TenFailedLoginsFromOneHostRefuseItForAMinute) {
  std::string forged = tokens_["admin"];
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  const std::string bad = json::serialize(json::object{{"token", forged}});
  const std::string good = json::serialize(json::object{{"token", tokens_["viewer"]}});
  // A success clears the host's count; failures then add up, whatever the port.
  call("POST", "/api/v1/session", 401, bad, "");
  call("POST", "/api/v1/session", 200, good, "");
  for (int i = 0; i < 10; ++i) {
    api::HttpRequest r = request("POST", "/api/v1/session", i % 2 ? bad : "{}", "");
    r.remote_address = "10.0.0.1:" + std::to_string(6000 + i);
    EXPECT_EQ(send(r).status, i % 2 ? 401 : 400) << i;
  }
  svc_.clock.advance(std::chrono::seconds(20));
  api::HttpResponse limited = send(request("POST", "/api/v1/session", good, ""));
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(json::parse(limited.body).at("error").at("code"), "rate_limited");
  bool retry_after = false;
  for (const auto& [name, value] : limited.headers) {
    if (name == "Retry-After") {
      retry_after = true;
      EXPECT_EQ(value, "40");  // the first of the ten leaves the minute in 40 s
    }
  }
  EXPECT_TRUE(retry_after);
  EXPECT_EQ(svc_.audit.back().outcome, "denied");
  // Another host is not affected; bearer tokens on other routes are not either.
  api::HttpRequest other = request("POST", "/api/v1/session", good, "");
  other.remote_address = "::1:7000";
  EXPECT_EQ(send(other).status, 200);
  call("GET", "/api/v1/sites", 200, "", "viewer");
  // Once the oldest failure is a minute old, the host may try again.
  svc_.clock.advance(std::chrono::seconds(40));
  call("POST", "/api/v1/session", 200, good, "");
}

TEST_F(RestAuthTest, MalformedBodiesAreRefusedNamingTheProblem) {
  json::value e = call("POST", "/api/v1/jobs", 400, "{\"nodes\": ");
  EXPECT_EQ(e.at("error").at("code"), "invalid_argument");
  EXPECT_THAT(std::string(e.at("error").at("message").as_string()),
              HasSubstr("request body is not valid JSON"));
  e = call("POST", "/api/v1/jobs", 400, R"({"nodes": 0, "walltime_s": 60})");
  EXPECT_EQ(e.at("error").at("field"), "nodes");
  e = call("POST", "/api/v1/tokens", 400, R"({"name":"x","role":"root"})");
  EXPECT_EQ(e.at("error").at("field"), "role");
  e = call("POST", "/api/v1/tokens", 400, R"({"name":"x","role":"submitter"})");
  EXPECT_EQ(e.at("error").at("field"), "scope");
  e = call("POST", "/api/v1/tokens", 400, R"({"name":"x","role":"submitter","scope":["p9"]})");
  EXPECT_THAT(std::string(e.at("error").at("message").as_string()), HasSubstr("p9"));
  e = call("POST", "/api/v1/tokens", 400, R"({"role":"viewer"})");
  EXPECT_EQ(e.at("error").at("field"), "name");
  e = call("POST", "/api/v1/tokens", 400, R"(["not", "an", "object"])");
  EXPECT_THAT(std::string(e.at("error").at("message").as_string()), HasSubstr("JSON object"));
  e = call("POST", "/api/v1/sites/site-a/drain", 400, R"({"reason": 7})");
  EXPECT_EQ(e.at("error").at("field"), "reason");
  // Refused bodies change nothing and are on record as errors.
  EXPECT_EQ(svc_.audit.back().outcome, "error");
  EXPECT_FALSE(svc_.broker().findSite("site-a")->drained);
}

TEST_F(RestAuthTest, CreatedTokenWorksOnceShownAndIsListedWithoutItsHash) {
  json::value created =
      call("POST", "/api/v1/tokens", 201, R"({"name":"ci","role":"submitter","scope":["p2"]})");
  std::string text(created.at("token").as_string());
  std::string id(created.at("id").as_string());
  EXPECT_TRUE(text.starts_with("aifed_" + id + "_"));
  EXPECT_EQ(created.at("created_by"), json::value(idOf("admin")));
  EXPECT_EQ(svc_.saved_tokens.at(id).secret_sha256,
            identity::sha256Hex(identity::parseToken(text)->secret));
  tokens_["ci"] = text;
  json::value me = call("GET", "/api/v1/session", 200, "", "ci");
  EXPECT_EQ(me.at("role"), "submitter");
  EXPECT_EQ(me.at("scope").as_array()[0], "p2");
  json::value list = call("GET", "/api/v1/tokens", 200);
  EXPECT_EQ(list.at("tokens").as_array().size(), 7u);
  EXPECT_EQ(list.as_object().at("tokens").as_array().back().as_object().count("token"), 0u);
  std::string listed = json::serialize(list);
  EXPECT_EQ(listed.find(svc_.saved_tokens.at(id).secret_sha256), std::string::npos);
  EXPECT_EQ(listed.find(text), std::string::npos);
}

TEST_F(RestAuthTest, AuditLogIsReadableWithFilters) {
  bringUp("site-a", 16);
  call("POST", "/api/v1/sites/site-a/drain", 200, R"({"reason":"disk swap"})", "operator");
  call("POST", "/api/v1/sites/site-a/drain", 403, "", "viewer");
  call("POST", "/api/v1/sites/site-a/resume", 200, "", "operator");
  json::value all = call("GET", "/api/v1/audit", 200, "", "viewer");
  const json::array& rows = all.at("entries").as_array();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].at("action"), "site.resume");  // newest first
  EXPECT_EQ(rows[2].at("action"), "site.drain");
  EXPECT_EQ(rows[2].at("detail"), "disk swap");
  EXPECT_EQ(rows[2].at("target"), "site-a");
  EXPECT_EQ(rows[2].at("role"), "operator");
  EXPECT_EQ(rows[1].at("outcome"), "denied");
  EXPECT_EQ(rows[1].at("actor_name"), "viewer");
  json::value mine = call("GET", "/api/v1/audit?actor=" + idOf("viewer"), 200);
  EXPECT_EQ(mine.at("entries").as_array().size(), 1u);
  json::value drains = call("GET", "/api/v1/audit?action=site.drain&limit=1", 200);
  ASSERT_EQ(drains.at("entries").as_array().size(), 1u);
  json::value older = call("GET",
                           "/api/v1/audit?action=site.drain&before=" +
                               std::to_string(drains.at("next_before").as_int64()),
                           200);
  EXPECT_EQ(older.at("entries").as_array().size(), 1u);
  EXPECT_EQ(call("GET", "/api/v1/audit?limit=5000", 400).at("error").at("field"), "limit");
}

TEST_F(RestAuthTest, SubmissionCommitsWithItsAuditRowInOneTransaction) {
  bringUp("site-a", 16);
  int before = svc_.commits;
  size_t rows = svc_.audit.size();
  std::string id = submitFor("p1");
  EXPECT_EQ(svc_.commits, before + 1);
  ASSERT_EQ(svc_.audit.size(), rows + 1);
  EXPECT_EQ(svc_.audit.back().action, "job.submit");
  EXPECT_EQ(svc_.audit.back().target, id);
}

// A token's last use is kept in memory at every request but written at most once a
// minute: a write per request would cost a transaction per submission.
TEST_F(RestAuthTest, LastUseIsWrittenAtMostOncePerMinute) {
  call("GET", "/api/v1/sites", 200, "", "viewer");
  ASSERT_EQ(svc_.saved_tokens.count(idOf("viewer")), 1u);
  EXPECT_EQ(svc_.saved_tokens.at(idOf("viewer")).last_used_at, svc_.now());
  Time first = svc_.now();
  svc_.clock.advance(std::chrono::seconds(30));
  call("GET", "/api/v1/sites", 200, "", "viewer");
  EXPECT_EQ(svc_.saved_tokens.at(idOf("viewer")).last_used_at, first);       // not yet
  EXPECT_EQ(auth_.tokens().find(idOf("viewer"))->last_used_at, svc_.now());  // in memory
  svc_.clock.advance(std::chrono::seconds(31));
  call("GET", "/api/v1/sites", 200, "", "viewer");
  EXPECT_EQ(svc_.saved_tokens.at(idOf("viewer")).last_used_at, svc_.now());
}

TEST_F(RestAuthTest, ProjectsShowAllocationsAndUsage) {
  json::value p = call("GET", "/api/v1/projects/p1", 200, "", "viewer");
  EXPECT_EQ(p.at("allocated_gpu_hours").to_number<double>(), 1500);
  const json::array& a = p.at("allocations").as_array();
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].at("site"), "site-a");
  EXPECT_EQ(a[0].at("allocated_gpu_hours").to_number<double>(), 1000);
  EXPECT_EQ(a[0].at("used_gpu_hours").to_number<double>(), 0);
  bringUp("site-a", 16);
  submitFor("p1");  // 1 node x 4 GPUs x 1 h held at site-a
  p = call("GET", "/api/v1/projects/p1", 200, "", "viewer");
  EXPECT_GT(p.at("used_gpu_hours").to_number<double>(), 0);
  EXPECT_EQ(p.at("jobs").at("dispatched"), 1);
  call("GET", "/api/v1/projects/nope", 404);
}

// The same routes behind a real HttpServer on loopback: the server's body limit, and a
// burst of malformed requests that must leave it answering.
TEST(RestServerTest, OversizedAndMalformedRequestsAreRefusedAndTheServerStaysUp) {
  struct Bench : RestBench {
    void TestBody() override {}
  } bench;
  boost::asio::io_context io;
  api::HttpServerOptions options = testing::tlsServerOptions();
  options.body_limit = 64 * 1024;
  options.read_timeout = std::chrono::seconds(5);
  api::HttpServer server(io,
                         api::HttpServer::AsyncHandler([&](api::HttpRequest r, api::Reply reply) {
                           bench.router_.dispatch(r, std::move(reply));
                         }),
                         options);
  Result<uint16_t> port = server.listen("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  std::thread loop([&] { io.run(); });
  {
    std::string url = "https://127.0.0.1:" + std::to_string(*port);
    cli::HttpClientOptions admin = testing::pinnedClient(std::chrono::seconds(10));
    admin.bearer_token = bench.tokens_["admin"];
    cli::HttpClient client(url, admin);
    std::string huge =
        R"({"nodes":1,"walltime_s":60,"name":")" + std::string(100 * 1024, 'x') + "\"}";
    Result<cli::HttpResult> big = client.request("POST", "/api/v1/jobs", huge);
    ASSERT_TRUE(big.ok()) << big.status().toString();
    EXPECT_EQ(big->status, 413);
    EXPECT_THAT(big->body, HasSubstr("payload_too_large"));
    int refused = 0;
    for (int i = 0; i < 1000; ++i) {
      std::string junk = i % 2 ? "{\"nodes\": [" + std::to_string(i) : std::string(i % 97, '{');
      Result<cli::HttpResult> r = client.request("POST", "/api/v1/jobs", junk);
      ASSERT_TRUE(r.ok()) << i << ": " << r.status().toString();
      refused += r->status == 400;
    }
    EXPECT_EQ(refused, 1000);
    Result<cli::HttpResult> fine = client.request("GET", "/api/v1/federation", "");
    ASSERT_TRUE(fine.ok());
    EXPECT_EQ(fine->status, 200);
    cli::HttpClient anonymous(url, testing::pinnedClient(std::chrono::seconds(10)));
    Result<cli::HttpResult> none = anonymous.request("GET", "/api/v1/sites", "");
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(none->status, 401);
  }
  boost::asio::post(io, [&] { server.stop(); });
  loop.join();
}

}  // namespace
}  // namespace aifed::coordinator
