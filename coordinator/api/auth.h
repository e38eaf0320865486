// Authentication and authorization for the REST API (docs/security.md): the authorizer
// of roles with scopes, console sessions with a CSRF token, cookie helpers and the
// Authenticator. Roles, token records and token text are coordinator/identity/tokens.h.
//
// Everything here is pure apart from the random bytes of new tokens and sessions
// (OpenSSL RAND_bytes): no sockets, no SQLite; time comes from an injected Clock.
//
//   Authenticator auth(clock);
//   auth.tokens().put(record);                          // loaded from the store at start
//   Result<Principal> who = auth.authenticate(request); // bearer header or session cookie
//   if (!who.ok()) return errorResponse(who.status());  // 401
//   if (Status s = authorize(*who, Action::kSiteDrain, Resource::site("mimer")); !s.ok())
//     return errorResponse(s);                          // 403 naming role and action
//
// Threading: not thread-safe; the coordinator's event-loop thread owns it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/api/http_server.h"
#include "coordinator/broker/records.h"
#include "coordinator/identity/oidc.h"
#include "coordinator/identity/tokens.h"
#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed::api {

// What a request wants to do; the names ("job.submit") appear in 403 messages.
enum class Action {
  kJobSubmit,
  kJobRead,
  kJobCancel,
  kSiteRead,
  kSiteDrain,
  kSiteResume,
  kPolicyRead,
  kPolicySet,
  kProjectRead,
  kFederationRead,
  kTokenManage,
  kAuditRead,
  kMetricsRead,
  kQuarantineRead,    // attempts agents reported that the coordinator had no record of
  kQuarantineDecide,  // cancel or release one
  kFederationReload,  // re-read the federation file (admins only)
};
std::string_view actionName(Action action);

// What an action is applied to. Empty fields mean "not about one project/site/user" (a
// list, or the federation as a whole).
struct Resource {
  std::string project;
  std::string site;
  std::string user;  // a job's owner
  static Resource none() { return {}; }
  static Resource ofProject(std::string id) { return {std::move(id), {}, {}}; }
  static Resource ofSite(std::string id) { return {{}, std::move(id), {}}; }
  // A new job: its project and the user it is submitted for.
  static Resource ofSubmission(std::string project, std::string user) {
    return {std::move(project), {}, std::move(user)};
  }
  // A job: its project, the site of its current attempt ("" while queued), its owner.
  static Resource ofJob(const broker::JobRecord& job) {
    return {job.spec.project, job.site, job.spec.user};
  }
};

// Who is asking: the token behind the request, and how it was presented. For an OpenID
// Connect token, token_id is "oidc:<sub>" (the audit log's actor), name the user and
// oidc_expires_at the token's exp.
struct Principal {
  std::string token_id;
  std::string name;
  std::string user;  // the authenticated user: the owner of the jobs it submits
  identity::Role role = identity::Role::kViewer;
  std::vector<std::string> scope;
  bool via_session = false;  // the session cookie, not a bearer header
  std::string session_id;    // when via_session
  std::string csrf_token;    // when via_session
  std::optional<Time> session_expires_at;
  std::string oidc_issuer;  // set when authenticated by an OpenID Connect token
  std::optional<Time> oidc_expires_at;
  bool viaOidc() const { return !oidc_issuer.empty(); }
};

// Checks a role and its scope against an action (the table in docs/security.md).
// kPermissionDenied names the role, the action and, for scoped roles, the scope, or the
// user when the owner rule refuses.
//   admin       everything, job.submit for any user
//   operator    read all; job.cancel any job; site.drain/resume any site; audit.read
//   viewer      read all; audit.read; changes nothing
//   submitter   job.submit/read/cancel for its projects, as its own user only (a job of
//               another user, res.user, is refused); project.read of its projects;
//               site/policy/federation read
//   portal      as submitter, but for any user: job.submit for others, job.read/cancel
//               of every job of its projects
//   site-admin  read all sites; site.drain/resume of its site; job.read/cancel of jobs
//               placed at its site; project/policy/federation read
// metrics.read: every role but submitter and portal. policy.set, token.manage: admin only.
// quarantine.read: admin, operator, viewer, site-admin (its site); quarantine.decide:
// admin, operator, site-admin (its site).
Status authorize(const Principal& who, Action action, const Resource& resource);

// Job visibility (lists, get, explain, events): whether `who` may see `job` at all.
bool mayRead(const Principal& who, const broker::JobRecord& job);

// --- Sessions ---
struct Session {
  std::string id;  // the aifed_session cookie value
  std::string token_id;
  std::string csrf_token;
  Time created_at{};
  Time expires_at{};
};

// Console sessions in memory (a restart logs everyone out) with an absolute lifetime.
// At most `max_sessions` live at once: the oldest is dropped to make room.
class SessionStore {
 public:
  static constexpr Duration kLifetime = std::chrono::hours(12);
  explicit SessionStore(const Clock& clock, Duration lifetime = kLifetime,
                        size_t max_sessions = 10000);
  // A new session for `token_id` with random id and CSRF token. kInternal if the
  // random generator fails.
  Result<Session> create(const std::string& token_id);
  // The live session, or null when unknown or expired (an expired one is removed).
  const Session* find(std::string_view id);
  void remove(std::string_view id);
  // Ends every session of a token (on revoke).
  void removeToken(std::string_view token_id);
  size_t size() const { return sessions_.size(); }

 private:
  void purgeExpired();
  const Clock& clock_;
  Duration lifetime_;
  size_t max_sessions_;
  std::map<std::string, Session, std::less<>> sessions_;
};

// Failed console logins per client address: after `max_failures` within `window` the
// address is refused (429) until the oldest of them leaves the window. Tokens carry
// 256-bit secrets, so this is about flooding (CPU, the audit log), not guessing. At most
// `max_addresses` are tracked; the least recently failing is dropped to make room.
// Pure: time comes in as arguments.
class LoginThrottle {
 public:
  explicit LoginThrottle(int max_failures = 10, Duration window = std::chrono::minutes(1),
                         size_t max_addresses = 10000)
      : max_failures_(max_failures), window_(window), max_addresses_(max_addresses) {}
  // Zero when `address` may try now; otherwise how long until it may.
  Duration retryAfter(const std::string& address, Time now);
  void failed(const std::string& address, Time now);
  void succeeded(const std::string& address) { failures_.erase(address); }
  // The host part of a request's remote_address ("10.0.0.1:5000", "::1:5000"): the key,
  // since every new connection has a new port.
  static std::string hostOf(const std::string& remote_address) {
    size_t colon = remote_address.rfind(':');
    return colon == std::string::npos ? remote_address : remote_address.substr(0, colon);
  }

 private:
  int max_failures_;
  Duration window_;
  size_t max_addresses_;
  std::map<std::string, std::deque<Time>, std::less<>> failures_;  // oldest first
};

// --- Cookies ---
constexpr std::string_view kSessionCookie = "aifed_session";
constexpr std::string_view kCsrfCookie = "aifed_csrf";
// "a=1; b=2" -> {a: 1, b: 2}; malformed pairs are skipped; the first of a repeated name wins.
std::map<std::string, std::string> parseCookies(std::string_view header);
// Set-Cookie values: the session (HttpOnly), the CSRF token (readable by scripts), and
// the two that clear them. All Secure, SameSite=Strict, Path=/.
std::string sessionCookie(const Session& session, Time now);
std::string csrfCookie(const Session& session, Time now);
std::string clearedCookie(std::string_view name);

// CSRF defence for a cookie-authenticated request whose method is not GET/HEAD: the
// X-CSRF-Token header must equal the session's token and an Origin header, if any,
// must be "https://<Host>". Bearer requests pass (no ambient credential).
// kPermissionDenied "CSRF check failed: ..." otherwise.
Status checkCsrf(const Principal& who, const HttpRequest& request);

// Authenticates requests against a TokenDirectory and a SessionStore.
class Authenticator {
 public:
  explicit Authenticator(const Clock& clock) : clock_(clock), sessions_(clock) {}

  identity::TokenDirectory& tokens() { return tokens_; }
  const identity::TokenDirectory& tokens() const { return tokens_; }
  SessionStore& sessions() { return sessions_; }

  // Turns on OpenID Connect bearer tokens (null: off). `oidc` must outlive this.
  void setOidc(identity::OidcVerifier* oidc) { oidc_ = oidc; }

  // `Authorization: Bearer <token>` first, else the aifed_session cookie. A bearer that
  // looks like a JWT (three base64url parts) is an OpenID Connect token; anything else
  // an aifed token. kUnauthenticated when neither is present or valid (unknown, revoked,
  // malformed token; each OIDC refusal with its own message and field; unknown or
  // expired session). Marks an aifed token used (last_used_at, memory only).
  Result<Principal> authenticate(const HttpRequest& request);
  // Checks a token's text (a bearer header's or a console login's).
  Result<Principal> verifyToken(std::string_view text);
  // Whether a principal authenticated earlier still holds: its token is known and not
  // revoked (an OIDC token: not expired) and, for a console session, the session has not
  // ended or expired. For
  // long-lived connections (the event stream), which authenticate once.
  bool stillValid(const Principal& who);
  // The token id a request claims in its bearer header, if well-formed (for the audit
  // log of refused requests); "" otherwise.
  static std::string claimedTokenId(const HttpRequest& request);

 private:
  Result<Principal> principalFor(const identity::TokenRecord& record);
  Result<Principal> verifyOidc(std::string_view jwt);
  const Clock& clock_;
  identity::OidcVerifier* oidc_ = nullptr;
  identity::TokenDirectory tokens_;
  SessionStore sessions_;
};

}  // namespace aifed::api
