#include "coordinator/api/auth.h"

#include <algorithm>
#include <cctype>

#include <spdlog/spdlog.h>

#include "common/strings.h"

namespace aifed::api {
namespace {

bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

Status denied(const Principal& who, Action action, const std::string& why = {}) {
  std::string msg = "role " + std::string(identity::roleName(who.role)) + " may not " +
                    std::string(actionName(action));
  if (!why.empty()) msg += " " + why;
  return Status(StatusCode::kPermissionDenied, msg);
}

std::string header(const HttpRequest& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

// A cookie attribute list shared by the session and CSRF cookies.
std::string cookieTail(const Session& s, Time now) {
  auto left = std::chrono::duration_cast<std::chrono::seconds>(s.expires_at - now).count();
  return "; Secure; SameSite=Strict; Path=/; Max-Age=" + std::to_string(std::max<int64_t>(left, 0));
}

// The owner rule (docs/security.md, "Job owners") for the roles that act for one user:
// a job of another user is not theirs to submit, see or cancel.
Status checkOwnUser(const Principal& who, Action action, const Resource& res) {
  if (action == Action::kJobSubmit && who.user.empty()) {
    return denied(who, action,
                  "as no one: token " + who.token_id +
                      " belongs to no user (made before tokens had users, with a name that is "
                      "not a user name); ask an admin for a token with a user");
  }
  if (res.user.empty() || res.user == who.user) return Status::Ok();
  if (action == Action::kJobSubmit) {
    return denied(who, action,
                  "for user \"" + res.user + "\": a " + std::string(identity::roleName(who.role)) +
                      " submits as its own user \"" + who.user +
                      "\" only (admin and portal tokens may submit for others)");
  }
  return denied(who, action,
                "on a job of user \"" + res.user + "\" (the token's user is \"" + who.user + "\")");
}

// The project-scoped job and project actions of submitter and portal.
Status authorizeProjectScoped(const Principal& who, Action action, const Resource& res) {
  switch (action) {
    case Action::kSiteRead:
    case Action::kPolicyRead:
    case Action::kFederationRead:
      return Status::Ok();
    case Action::kJobSubmit:
    case Action::kJobRead:
    case Action::kJobCancel:
    case Action::kProjectRead:
      // A list (no project named) is allowed and filtered by the caller.
      if (res.project.empty() && action != Action::kJobSubmit) return Status::Ok();
      if (!contains(who.scope, res.project)) {
        return denied(who, action,
                      "on project \"" + res.project + "\" (token scope: " +
                          common::join(who.scope, ",") + ")");
      }
      if (who.role == identity::Role::kSubmitter && action != Action::kProjectRead) {
        return checkOwnUser(who, action, res);
      }
      if (action == Action::kJobSubmit && res.user.empty() && who.user.empty()) {
        return checkOwnUser(who, action, res);
      }
      return Status::Ok();
    default:
      return denied(who, action);
  }
}

}  // namespace

std::string_view actionName(Action action) {
  switch (action) {
    case Action::kJobSubmit:
      return "job.submit";
    case Action::kJobRead:
      return "job.read";
    case Action::kJobCancel:
      return "job.cancel";
    case Action::kSiteRead:
      return "site.read";
    case Action::kSiteDrain:
      return "site.drain";
    case Action::kSiteResume:
      return "site.resume";
    case Action::kPolicyRead:
      return "policy.read";
    case Action::kPolicySet:
      return "policy.set";
    case Action::kProjectRead:
      return "project.read";
    case Action::kFederationRead:
      return "federation.read";
    case Action::kTokenManage:
      return "token.manage";
    case Action::kAuditRead:
      return "audit.read";
    case Action::kMetricsRead:
      return "metrics.read";
    case Action::kQuarantineRead:
      return "quarantine.read";
    case Action::kQuarantineDecide:
      return "quarantine.decide";
    case Action::kFederationReload:
      return "federation.reload";
  }
  return "?";
}

Status authorize(const Principal& who, Action action, const Resource& res) {
  switch (who.role) {
    case identity::Role::kAdmin:
      return Status::Ok();
    case identity::Role::kOperator:
      switch (action) {
        case Action::kJobSubmit:
        case Action::kPolicySet:
        case Action::kTokenManage:
        case Action::kFederationReload:
          return denied(who, action);
        default:
          return Status::Ok();
      }
    case identity::Role::kViewer:
      switch (action) {
        case Action::kJobRead:
        case Action::kSiteRead:
        case Action::kPolicyRead:
        case Action::kProjectRead:
        case Action::kFederationRead:
        case Action::kAuditRead:
        case Action::kMetricsRead:
        case Action::kQuarantineRead:
          return Status::Ok();
        default:
          return denied(who, action);
      }
    case identity::Role::kSubmitter:
    case identity::Role::kPortal:
      return authorizeProjectScoped(who, action, res);
    case identity::Role::kSiteAdmin:
      switch (action) {
        case Action::kSiteRead:
        case Action::kPolicyRead:
        case Action::kProjectRead:
        case Action::kFederationRead:
        case Action::kMetricsRead:
          return Status::Ok();
        case Action::kSiteDrain:
        case Action::kSiteResume:
        case Action::kJobRead:
        case Action::kJobCancel:
        case Action::kQuarantineRead:
        case Action::kQuarantineDecide:
          // A list (no site named) is allowed and filtered by the caller.
          if (res.site.empty() &&
              (action == Action::kJobRead || action == Action::kQuarantineRead)) {
            return Status::Ok();
          }
          if (contains(who.scope, res.site)) return Status::Ok();
          return denied(
              who, action,
              "at site \"" + res.site + "\" (token scope: " + common::join(who.scope, ",") + ")");
        default:
          return denied(who, action);
      }
  }
  return denied(who, action);
}

bool mayRead(const Principal& who, const broker::JobRecord& job) {
  switch (who.role) {
    case identity::Role::kAdmin:
    case identity::Role::kOperator:
    case identity::Role::kViewer:
      return true;
    case identity::Role::kSubmitter:
      return contains(who.scope, job.spec.project) && job.spec.user == who.user;
    case identity::Role::kPortal:
      return contains(who.scope, job.spec.project);
    case identity::Role::kSiteAdmin:
      return !job.site.empty() && contains(who.scope, job.site);
  }
  return false;
}

// --- SessionStore ---

SessionStore::SessionStore(const Clock& clock, Duration lifetime, size_t max_sessions)
    : clock_(clock), lifetime_(lifetime), max_sessions_(std::max<size_t>(max_sessions, 1)) {}

void SessionStore::purgeExpired() {
  Time now = clock_.now();
  std::erase_if(sessions_, [&](const auto& kv) { return kv.second.expires_at <= now; });
}

Result<Session> SessionStore::create(const std::string& token_id) {
  purgeExpired();
  while (sessions_.size() >= max_sessions_) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
      return a.second.created_at < b.second.created_at;
    });
    sessions_.erase(oldest);
  }
  Result<std::string> id = identity::randomBase64Url(32);
  if (!id.ok()) return id.status();
  Result<std::string> csrf = identity::randomBase64Url(32);
  if (!csrf.ok()) return csrf.status();
  Session s;
  s.id = *id;
  s.token_id = token_id;
  s.csrf_token = *csrf;
  s.created_at = clock_.now();
  s.expires_at = s.created_at + lifetime_;
  sessions_[s.id] = s;
  return s;
}

const Session* SessionStore::find(std::string_view id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  if (it->second.expires_at <= clock_.now()) {
    sessions_.erase(it);
    return nullptr;
  }
  return &it->second;
}

void SessionStore::remove(std::string_view id) {
  auto it = sessions_.find(id);
  if (it != sessions_.end()) sessions_.erase(it);
}

void SessionStore::removeToken(std::string_view token_id) {
  std::erase_if(sessions_, [&](const auto& kv) { return kv.second.token_id == token_id; });
}

// --- Cookies ---

std::map<std::string, std::string> parseCookies(std::string_view header) {
  std::map<std::string, std::string> out;
  while (!header.empty()) {
    size_t end = header.find(';');
    std::string_view pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    while (!pair.empty() && pair.back() == ' ') pair.remove_suffix(1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string_view value = pair.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    out.emplace(std::string(pair.substr(0, eq)), std::string(value));
  }
  return out;
}

std::string sessionCookie(const Session& s, Time now) {
  return std::string(kSessionCookie) + "=" + s.id + "; HttpOnly" + cookieTail(s, now);
}

std::string csrfCookie(const Session& s, Time now) {
  return std::string(kCsrfCookie) + "=" + s.csrf_token + cookieTail(s, now);
}

std::string clearedCookie(std::string_view name) {
  std::string out = std::string(name) + "=; ";
  if (name == kSessionCookie) out += "HttpOnly; ";
  return out + "Secure; SameSite=Strict; Path=/; Max-Age=0";
}

Status checkCsrf(const Principal& who, const HttpRequest& r) {
  if (!who.via_session || r.method == "GET" || r.method == "HEAD") return Status::Ok();
  auto fail = [](const std::string& why) {
    return Status(StatusCode::kPermissionDenied, "CSRF check failed: " + why);
  };
  std::string sent = header(r, "x-csrf-token");
  if (sent.empty()) return fail("the X-CSRF-Token header is missing");
  if (!identity::constantTimeEqual(identity::sha256Hex(sent),
                                   identity::sha256Hex(who.csrf_token))) {
    return fail("the X-CSRF-Token header does not match the session");
  }
  if (auto it = r.headers.find("origin"); it != r.headers.end()) {
    std::string expected = "https://" + header(r, "host");
    if (it->second != expected) {
      return fail("Origin " + it->second + " is not " + expected);
    }
  }
  return Status::Ok();
}

// --- Authenticator ---

std::string Authenticator::claimedTokenId(const HttpRequest& r) {
  std::string h = header(r, "authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (h.size() <= kBearer.size()) return {};
  std::string_view scheme(h.data(), kBearer.size());
  if (!std::equal(scheme.begin(), scheme.end(), kBearer.begin(), kBearer.end(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return {};
  }
  Result<identity::TokenParts> parts =
      identity::parseToken(std::string_view(h).substr(kBearer.size()));
  return parts.ok() ? parts->id : std::string();
}

Result<Principal> Authenticator::principalFor(const identity::TokenRecord& record) {
  if (record.revoked_at) {
    return Status(StatusCode::kUnauthenticated, "token " + record.id + " has been revoked");
  }
  Principal p;
  p.token_id = record.id;
  p.name = record.name;
  p.user = record.user;
  p.role = record.role;
  p.scope = record.scope;
  if (identity::TokenRecord* t = tokens_.findMutable(record.id)) t->last_used_at = clock_.now();
  return p;
}

Result<Principal> Authenticator::verifyToken(std::string_view text) {
  Result<identity::TokenParts> parts = identity::parseToken(text);
  if (!parts.ok()) return parts.status();
  const identity::TokenRecord* record = tokens_.find(parts->id);
  // Hash even for an unknown id, so the answer takes as long either way.
  std::string hash = identity::sha256Hex(parts->secret);
  if (!record || !identity::constantTimeEqual(hash, record->secret_sha256)) {
    return Status(StatusCode::kUnauthenticated, "unknown token");
  }
  return principalFor(*record);
}

Result<Principal> Authenticator::authenticate(const HttpRequest& r) {
  std::string auth = header(r, "authorization");
  if (!auth.empty()) {
    constexpr std::string_view kBearer = "bearer ";
    std::string lower = auth.substr(0, std::min(auth.size(), kBearer.size()));
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower != kBearer) {
      return Status(StatusCode::kUnauthenticated,
                    "the Authorization header must be \"Bearer <token>\"");
    }
    std::string_view token = std::string_view(auth).substr(kBearer.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (identity::OidcVerifier::looksLikeJwt(token)) {
      Result<Principal> p = verifyOidc(token);
      if (!p.ok()) {
        spdlog::warn("refused an OpenID Connect token from {}: {} ({})", r.remote_address,
                     p.status().message(), p.status().field());
      }
      return p;
    }
    return verifyToken(token);
  }
  std::map<std::string, std::string> cookies = parseCookies(header(r, "cookie"));
  auto it = cookies.find(std::string(kSessionCookie));
  if (it == cookies.end() || it->second.empty()) {
    return Status(StatusCode::kUnauthenticated,
                  "not authenticated: send \"Authorization: Bearer <token>\" or log in");
  }
  const Session* s = sessions_.find(it->second);
  if (!s) {
    return Status(StatusCode::kUnauthenticated, "the session has expired or ended: log in again");
  }
  const identity::TokenRecord* record = tokens_.find(s->token_id);
  if (!record) return Status(StatusCode::kUnauthenticated, "unknown token");
  Session session = *s;  // principalFor may not invalidate it, but keep a copy regardless
  Result<Principal> p = principalFor(*record);
  if (!p.ok()) {
    sessions_.remove(session.id);
    return p.status();
  }
  p->via_session = true;
  p->session_id = session.id;
  p->csrf_token = session.csrf_token;
  p->session_expires_at = session.expires_at;
  return p;
}

Result<Principal> Authenticator::verifyOidc(std::string_view jwt) {
  if (!oidc_ || !oidc_->enabled()) {
    return Status(StatusCode::kUnauthenticated,
                  "an OpenID Connect token, but this coordinator trusts no issuer ([oidc] in its "
                  "configuration)",
                  "token");
  }
  Result<identity::OidcIdentity> id = oidc_->verify(jwt, clock_.now());
  if (!id.ok()) return id.status();
  Principal p;
  p.token_id = "oidc:" + id->subject;
  p.name = id->user;
  p.user = id->user;
  p.role = id->role;
  p.scope = id->scope;
  p.oidc_issuer = id->issuer;
  p.oidc_expires_at = id->expires_at;
  return p;
}

bool Authenticator::stillValid(const Principal& who) {
  if (who.viaOidc()) return who.oidc_expires_at && clock_.now() < *who.oidc_expires_at;
  const identity::TokenRecord* record = tokens_.find(who.token_id);
  if (!record || record->revoked_at) return false;
  if (!who.via_session) return true;
  const Session* s = sessions_.find(who.session_id);
  return s != nullptr && s->token_id == who.token_id;
}

Duration LoginThrottle::retryAfter(const std::string& address, Time now) {
  auto it = failures_.find(address);
  if (it == failures_.end()) return Duration::zero();
  std::deque<Time>& times = it->second;
  while (!times.empty() && now - times.front() >= window_) times.pop_front();
  if (times.empty()) {
    failures_.erase(it);
    return Duration::zero();
  }
  if (static_cast<int>(times.size()) < max_failures_) return Duration::zero();
  return times.front() + window_ - now;
}

void LoginThrottle::failed(const std::string& address, Time now) {
  if (!failures_.count(address) && failures_.size() >= max_addresses_) {
    // Every tracked deque holds at least one time (retryAfter erases emptied ones).
    auto oldest = failures_.begin();
    for (auto it = failures_.begin(); it != failures_.end(); ++it) {
      if (it->second.back() < oldest->second.back()) oldest = it;
    }
    failures_.erase(oldest);
  }
  std::deque<Time>& times = failures_[address];
  times.push_back(now);
  while (static_cast<int>(times.size()) > max_failures_) times.pop_front();
}

}  // namespace aifed::api
