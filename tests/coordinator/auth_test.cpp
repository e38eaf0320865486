// The REST API's authorizer table, the Authenticator and sessions under a manual clock,
// cookies, the CSRF check and the login throttle (token text: tests/identity).
#include "coordinator/api/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace aifed::api {
namespace {
using ::testing::HasSubstr;

Principal as(identity::Role role, std::vector<std::string> scope = {}) {
  Principal p;
  p.token_id = "0123456789ab";
  p.name = "t";
  p.user = "alice";
  p.role = role;
  p.scope = std::move(scope);
  return p;
}

// The authorizer's table, one row per (role, action, resource) with the expected answer.
struct AuthzCase {
  Principal who;
  Action action;
  Resource resource;
  bool allowed;
};

TEST(AuthorizeTest, RolesAndScopes) {
  const Principal admin = as(identity::Role::kAdmin), op = as(identity::Role::kOperator),
                  viewer = as(identity::Role::kViewer);
  const Principal sub = as(identity::Role::kSubmitter, {"p1", "p2"});
  const Principal sa = as(identity::Role::kSiteAdmin, {"mimer"});
  const Resource p1 = Resource::ofProject("p1"), p3 = Resource::ofProject("p3");
  const Resource mimer = Resource::ofSite("mimer"), lumi = Resource::ofSite("lumi");
  const Resource job_p1_lumi{"p1", "lumi", "alice"}, job_p3_mimer{"p3", "mimer", "alice"};
  const Resource bobs_job_p1{"p1", "lumi", "bob"};
  const Principal portal = as(identity::Role::kPortal, {"p1"});
  const std::vector<AuthzCase> cases = {
      {admin, Action::kTokenManage, Resource::none(), true},
      {admin, Action::kPolicySet, Resource::none(), true},
      {admin, Action::kJobSubmit, p3, true},
      // operator: drain/resume any site, cancel any job, read audit; no submit/policy/tokens
      {op, Action::kSiteDrain, lumi, true},
      {op, Action::kSiteResume, mimer, true},
      {op, Action::kJobCancel, job_p3_mimer, true},
      {op, Action::kAuditRead, Resource::none(), true},
      {op, Action::kJobSubmit, p1, false},
      {op, Action::kPolicySet, Resource::none(), false},
      {op, Action::kTokenManage, Resource::none(), false},
      // viewer: reads, changes nothing
      {viewer, Action::kJobRead, job_p3_mimer, true},
      {viewer, Action::kAuditRead, Resource::none(), true},
      {viewer, Action::kMetricsRead, Resource::none(), true},
      {viewer, Action::kSiteDrain, mimer, false},
      {viewer, Action::kJobCancel, job_p1_lumi, false},
      {viewer, Action::kJobSubmit, p1, false},
      {viewer, Action::kPolicySet, Resource::none(), false},
      // submitter: its projects only
      {sub, Action::kJobSubmit, p1, true},
      {sub, Action::kJobSubmit, p3, false},
      {sub, Action::kJobSubmit, Resource::none(), false},
      {sub, Action::kJobCancel, job_p1_lumi, true},
      {sub, Action::kJobCancel, job_p3_mimer, false},
      {sub, Action::kProjectRead, p3, false},
      {sub, Action::kSiteRead, lumi, true},
      {sub, Action::kSiteDrain, lumi, false},
      {sub, Action::kAuditRead, Resource::none(), false},
      {sub, Action::kMetricsRead, Resource::none(), false},
      // submitter: as its own user only (docs/security.md, "Job owners")
      {sub, Action::kJobSubmit, Resource::ofSubmission("p1", "alice"), true},
      {sub, Action::kJobSubmit, Resource::ofSubmission("p1", "root"), false},
      {sub, Action::kJobCancel, bobs_job_p1, false},
      {sub, Action::kJobRead, bobs_job_p1, false},
      // portal: its projects, any user
      {portal, Action::kJobSubmit, Resource::ofSubmission("p1", "bob"), true},
      {portal, Action::kJobSubmit, Resource::ofSubmission("p3", "bob"), false},
      {portal, Action::kJobCancel, bobs_job_p1, true},
      {portal, Action::kJobCancel, job_p3_mimer, false},
      {portal, Action::kSiteDrain, mimer, false},
      {portal, Action::kAuditRead, Resource::none(), false},
      {portal, Action::kTokenManage, Resource::none(), false},
      {admin, Action::kJobSubmit, Resource::ofSubmission("p3", "bob"), true},
      // site-admin: its site
      {sa, Action::kSiteDrain, mimer, true},
      {sa, Action::kSiteDrain, lumi, false},
      {sa, Action::kSiteRead, lumi, true},
      {sa, Action::kJobCancel, job_p3_mimer, true},
      {sa, Action::kJobCancel, job_p1_lumi, false},
      {sa, Action::kJobSubmit, p1, false},
      {sa, Action::kAuditRead, Resource::none(), false},
      {sa, Action::kPolicySet, Resource::none(), false},
  };
  for (const AuthzCase& c : cases) {
    Status s = authorize(c.who, c.action, c.resource);
    EXPECT_EQ(s.ok(), c.allowed) << roleName(c.who.role) << " " << actionName(c.action) << " "
                                 << c.resource.project << "/" << c.resource.site << ": "
                                 << s.toString();
    if (!c.allowed) {
      EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
      EXPECT_THAT(s.message(), HasSubstr(std::string(roleName(c.who.role))));
      EXPECT_THAT(s.message(), HasSubstr(std::string(actionName(c.action))));
    }
  }
}

TEST(AuthorizeTest, JobVisibility) {
  broker::JobRecord job;
  job.spec.project = "p1";
  job.spec.user = "alice";
  job.site = "mimer";
  EXPECT_TRUE(mayRead(as(identity::Role::kViewer), job));
  EXPECT_TRUE(mayRead(as(identity::Role::kSubmitter, {"p1"}), job));
  EXPECT_FALSE(mayRead(as(identity::Role::kSubmitter, {"p2"}), job));
  Principal bob = as(identity::Role::kSubmitter, {"p1"});
  bob.user = "bob";
  EXPECT_FALSE(mayRead(bob, job)) << "a submitter sees its own user's jobs only";
  bob.role = identity::Role::kPortal;
  EXPECT_TRUE(mayRead(bob, job)) << "a portal sees every job of its projects";
  EXPECT_FALSE(mayRead(as(identity::Role::kPortal, {"p2"}), job));
  EXPECT_TRUE(mayRead(as(identity::Role::kSiteAdmin, {"mimer"}), job));
  EXPECT_FALSE(mayRead(as(identity::Role::kSiteAdmin, {"lumi"}), job));
  job.site.clear();  // queued: placed nowhere yet
  EXPECT_FALSE(mayRead(as(identity::Role::kSiteAdmin, {"mimer"}), job));
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  AuthenticatorTest() : auth_(clock_) {
    Result<identity::NewToken> t = identity::generateToken();
    token_ = t->text;
    identity::TokenRecord r;
    r.id = t->id;
    r.name = "alice";
    r.role = identity::Role::kOperator;
    r.secret_sha256 = t->secret_sha256;
    r.created_at = clock_.now();
    auth_.tokens().put(r);
    id_ = t->id;
  }
  HttpRequest request(std::string method = "GET") {
    HttpRequest r;
    r.method = std::move(method);
    r.path = "/api/v1/sites";
    r.headers["host"] = "127.0.0.1:7780";
    return r;
  }
  ManualClock clock_{fromMillis(1'800'000'000'000)};
  Authenticator auth_;
  std::string token_, id_;
};

// An OpenID Connect principal holds until its token's exp (a long-lived event stream is
// closed after that); a JWT without [oidc] is refused naming the configuration.
TEST_F(AuthenticatorTest, OidcPrincipalsHoldUntilTheirTokenExpires) {
  Principal p;
  p.token_id = "oidc:sub-1";
  p.oidc_issuer = "https://idp";
  p.oidc_expires_at = clock_.now() + std::chrono::minutes(5);
  EXPECT_TRUE(auth_.stillValid(p));
  clock_.advance(std::chrono::minutes(5));
  EXPECT_FALSE(auth_.stillValid(p));
  HttpRequest r = request();
  r.headers["authorization"] = "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
  Result<Principal> who = auth_.authenticate(r);
  ASSERT_FALSE(who.ok());
  EXPECT_EQ(who.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(who.status().message(), HasSubstr("trusts no issuer"));
}

TEST_F(AuthenticatorTest, BearerTokenAuthenticatesAndMarksUse) {
  HttpRequest r = request();
  r.headers["authorization"] = "Bearer " + token_;
  Result<Principal> p = auth_.authenticate(r);
  ASSERT_TRUE(p.ok()) << p.status().toString();
  EXPECT_EQ(p->token_id, id_);
  EXPECT_EQ(p->role, identity::Role::kOperator);
  EXPECT_FALSE(p->via_session);
  EXPECT_EQ(auth_.tokens().find(id_)->last_used_at, clock_.now());
  EXPECT_EQ(Authenticator::claimedTokenId(r), id_);
}

TEST_F(AuthenticatorTest, MissingWrongAndRevokedCredentialsAreUnauthenticated) {
  EXPECT_EQ(auth_.authenticate(request()).status().code(), StatusCode::kUnauthenticated);
  HttpRequest r = request();
  r.headers["authorization"] = "Basic dXNlcjpwYXNz";
  EXPECT_EQ(auth_.authenticate(r).status().code(), StatusCode::kUnauthenticated);
  // Right id, wrong secret.
  std::string forged = token_;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  r.headers["authorization"] = "Bearer " + forged;
  EXPECT_EQ(auth_.authenticate(r).status().code(), StatusCode::kUnauthenticated);
  // Revoked.
  auth_.tokens().findMutable(id_)->revoked_at = clock_.now();
  r.headers["authorization"] = "Bearer " + token_;
  Result<Principal> p = auth_.authenticate(r);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("revoked"));
}

TEST_F(AuthenticatorTest, SessionCookieAuthenticatesUntilItExpires) {
  Result<Session> s = auth_.sessions().create(id_);
  ASSERT_TRUE(s.ok());
  HttpRequest r = request();
  r.headers["cookie"] = "other=1; aifed_session=" + s->id + "; aifed_csrf=" + s->csrf_token;
  Result<Principal> p = auth_.authenticate(r);
  ASSERT_TRUE(p.ok()) << p.status().toString();
  EXPECT_TRUE(p->via_session);
  EXPECT_EQ(p->csrf_token, s->csrf_token);
  clock_.advance(SessionStore::kLifetime - Duration(1));
  EXPECT_TRUE(auth_.authenticate(r).ok());
  clock_.advance(Duration(1));  // 12 h absolute lifetime, however busy the session was
  EXPECT_EQ(auth_.authenticate(r).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(auth_.sessions().size(), 0u);
}

TEST_F(AuthenticatorTest, RevokingATokenEndsItsSessions) {
  Result<Session> s = auth_.sessions().create(id_);
  HttpRequest r = request();
  r.headers["cookie"] = "aifed_session=" + s->id;
  ASSERT_TRUE(auth_.authenticate(r).ok());
  auth_.tokens().findMutable(id_)->revoked_at = clock_.now();
  EXPECT_FALSE(auth_.authenticate(r).ok());
  EXPECT_EQ(auth_.sessions().find(s->id), nullptr);
}

TEST_F(AuthenticatorTest, SessionStoreDropsTheOldestWhenFull) {
  SessionStore store(clock_, SessionStore::kLifetime, 2);
  Result<Session> a = store.create("a");
  clock_.advance(Duration(1));
  Result<Session> b = store.create("b");
  clock_.advance(Duration(1));
  Result<Session> c = store.create("c");
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(store.find(a->id), nullptr);
  EXPECT_NE(store.find(b->id), nullptr);
  EXPECT_NE(store.find(c->id), nullptr);
  store.removeToken("b");
  EXPECT_EQ(store.find(b->id), nullptr);
}

TEST_F(AuthenticatorTest, CsrfNeedsTheHeaderForCookieRequestsOnly) {
  Result<Session> s = auth_.sessions().create(id_);
  HttpRequest r = request("POST");
  r.headers["cookie"] = "aifed_session=" + s->id;
  Principal p = *auth_.authenticate(r);
  Status missing = checkCsrf(p, r);
  EXPECT_EQ(missing.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(missing.message(), HasSubstr("CSRF check failed"));
  r.headers["x-csrf-token"] = "wrong";
  EXPECT_FALSE(checkCsrf(p, r).ok());
  r.headers["x-csrf-token"] = s->csrf_token;
  EXPECT_TRUE(checkCsrf(p, r).ok());
  r.headers["origin"] = "https://evil.example";
  EXPECT_THAT(checkCsrf(p, r).message(), HasSubstr("Origin"));
  r.headers["origin"] = "https://127.0.0.1:7780";
  EXPECT_TRUE(checkCsrf(p, r).ok());
  // GET needs nothing; a bearer request is exempt.
  EXPECT_TRUE(checkCsrf(p, request("GET")).ok());
  HttpRequest bearer = request("POST");
  bearer.headers["authorization"] = "Bearer " + token_;
  EXPECT_TRUE(checkCsrf(*auth_.authenticate(bearer), bearer).ok());
}

TEST(CookieTest, ParseAndBuild) {
  auto c = parseCookies("a=1;  b=\"two\" ; junk; =x; a=3");
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c["a"], "1");
  EXPECT_EQ(c["b"], "two");
  Session s;
  s.id = "sid";
  s.csrf_token = "tok";
  s.expires_at = fromMillis(3'600'000);
  std::string session = sessionCookie(s, fromMillis(0));
  EXPECT_THAT(session, HasSubstr("aifed_session=sid; HttpOnly; Secure; SameSite=Strict; Path=/"));
  EXPECT_THAT(session, HasSubstr("Max-Age=3600"));
  std::string csrf = csrfCookie(s, fromMillis(0));
  EXPECT_THAT(csrf, HasSubstr("aifed_csrf=tok; Secure; SameSite=Strict; Path=/"));
  EXPECT_THAT(csrf, ::testing::Not(HasSubstr("HttpOnly")));
  EXPECT_THAT(clearedCookie(kSessionCookie), HasSubstr("Max-Age=0"));
}

TEST(LoginThrottleTest, CountsPerHostWithinTheWindowAndForgetsTheLeastRecentHost) {
  LoginThrottle t(3, std::chrono::seconds(60), 2);
  Time t0 = fromMillis(1'800'000'000'000);
  EXPECT_EQ(LoginThrottle::hostOf("10.0.0.1:5000"), "10.0.0.1");
  EXPECT_EQ(LoginThrottle::hostOf("::1:5000"), "::1");
  for (int i = 0; i < 3; ++i) t.failed("a", t0 + std::chrono::seconds(i));
  EXPECT_EQ(t.retryAfter("a", t0 + std::chrono::seconds(10)), std::chrono::seconds(50));
  EXPECT_EQ(t.retryAfter("b", t0), Duration::zero());
  // The first failure leaves the window at 60 s: two remain, below the limit.
  EXPECT_EQ(t.retryAfter("a", t0 + std::chrono::seconds(60)), Duration::zero());
  t.failed("a", t0 + std::chrono::seconds(60));
  EXPECT_EQ(t.retryAfter("a", t0 + std::chrono::seconds(60)), std::chrono::seconds(1));
  // Two hosts tracked at most: "b" then "c" push out the least recently failing ("a").
  t.failed("b", t0 + std::chrono::seconds(62));
  t.failed("c", t0 + std::chrono::seconds(63));
  EXPECT_EQ(t.retryAfter("a", t0 + std::chrono::seconds(63)), Duration::zero());
  t.succeeded("b");
  EXPECT_EQ(t.retryAfter("b", t0 + std::chrono::seconds(63)), Duration::zero());
}

}  // namespace
}  // namespace aifed::api
