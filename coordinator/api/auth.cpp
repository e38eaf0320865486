#include "coordinator/api/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>

namespace aifed::api {
namespace {

constexpr std::string_view kTokenPrefix = "aifed_";
constexpr size_t kTokenIdChars = 12;
constexpr size_t kSecretBytes = 32;
constexpr size_t kSecretChars = 43;  // 32 bytes in unpadded base64url

bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

Status denied(const Principal& who, Action action, const std::string& why = {}) {
  std::string msg =
      "role " + std::string(roleName(who.role)) + " may not " + std::string(actionName(action));
  if (!why.empty()) msg += " " + why;
  return Status(StatusCode::kPermissionDenied, msg);
}

Result<std::string> randomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return internalError("the random number generator failed (RAND_bytes)");
  }
  return out;
}

std::string hex(std::string_view bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

bool isBase64Url(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
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

}  // namespace

std::string_view roleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kOperator:
      return "operator";
    case Role::kViewer:
      return "viewer";
    case Role::kSubmitter:
      return "submitter";
    case Role::kSiteAdmin:
      return "site-admin";
  }
  return "?";
}

std::optional<Role> parseRole(std::string_view name) {
  for (Role r :
       {Role::kAdmin, Role::kOperator, Role::kViewer, Role::kSubmitter, Role::kSiteAdmin}) {
    if (roleName(r) == name) return r;
  }
  return std::nullopt;
}

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
  }
  return "?";
}

Status authorize(const Principal& who, Action action, const Resource& res) {
  switch (who.role) {
    case Role::kAdmin:
      return Status::Ok();
    case Role::kOperator:
      switch (action) {
        case Action::kJobSubmit:
        case Action::kPolicySet:
        case Action::kTokenManage:
          return denied(who, action);
        default:
          return Status::Ok();
      }
    case Role::kViewer:
      switch (action) {
        case Action::kJobRead:
        case Action::kSiteRead:
        case Action::kPolicyRead:
        case Action::kProjectRead:
        case Action::kFederationRead:
        case Action::kAuditRead:
        case Action::kMetricsRead:
          return Status::Ok();
        default:
          return denied(who, action);
      }
    case Role::kSubmitter:
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
          if (contains(who.scope, res.project)) return Status::Ok();
          return denied(
              who, action,
              "on project \"" + res.project + "\" (token scope: " + joined(who.scope) + ")");
        default:
          return denied(who, action);
      }
    case Role::kSiteAdmin:
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
          if (res.site.empty() && action == Action::kJobRead) return Status::Ok();  // a list
          if (contains(who.scope, res.site)) return Status::Ok();
          return denied(who, action,
                        "at site \"" + res.site + "\" (token scope: " + joined(who.scope) + ")");
        default:
          return denied(who, action);
      }
  }
  return denied(who, action);
}

bool mayRead(const Principal& who, const broker::JobRecord& job) {
  switch (who.role) {
    case Role::kAdmin:
    case Role::kOperator:
    case Role::kViewer:
      return true;
    case Role::kSubmitter:
      return contains(who.scope, job.spec.project);
    case Role::kSiteAdmin:
      return !job.site.empty() && contains(who.scope, job.site);
  }
  return false;
}

Status checkScope(Role role, const std::vector<std::string>& scope) {
  for (const std::string& s : scope) {
    if (s.empty()) return invalidArgument("scope entries must not be empty", "scope");
  }
  switch (role) {
    case Role::kSubmitter:
      if (scope.empty()) {
        return invalidArgument("a submitter token needs at least one project in scope", "scope");
      }
      return Status::Ok();
    case Role::kSiteAdmin:
      if (scope.size() != 1) {
        return invalidArgument("a site-admin token needs exactly one site in scope", "scope");
      }
      return Status::Ok();
    default:
      if (!scope.empty()) {
        return invalidArgument(
            "role " + std::string(roleName(role)) + " takes no scope (it applies to everything)",
            "scope");
      }
      return Status::Ok();
  }
}

Result<TokenParts> parseToken(std::string_view text) {
  auto bad = [] {
    return Status(StatusCode::kUnauthenticated, "malformed token: expected aifed_<id>_<secret>");
  };
  if (!text.starts_with(kTokenPrefix)) return bad();
  text.remove_prefix(kTokenPrefix.size());
  if (text.size() != kTokenIdChars + 1 + kSecretChars || text[kTokenIdChars] != '_') return bad();
  std::string_view id = text.substr(0, kTokenIdChars);
  std::string_view secret = text.substr(kTokenIdChars + 1);
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return bad();
  }
  for (char c : secret) {
    if (!isBase64Url(c)) return bad();
  }
  return TokenParts{std::string(id), std::string(secret)};
}

std::string base64UrlEncode(std::string_view bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = at(i) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (rest == 2) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

Result<std::string> randomBase64Url(size_t n) {
  Result<std::string> bytes = randomBytes(n);
  if (!bytes.ok()) return bytes.status();
  return base64UrlEncode(*bytes);
}

std::string sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // Invariant: EVP_Digest with SHA-256 only fails on allocation failure.
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) return {};
  return hex(std::string_view(reinterpret_cast<const char*>(digest), len));
}

bool constantTimeEqual(std::string_view a, std::string_view b) {
  // Lengths are not secret (both sides are fixed-length hex digests in practice).
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<NewToken> generateToken() {
  Result<std::string> id_bytes = randomBytes(kTokenIdChars / 2);
  if (!id_bytes.ok()) return id_bytes.status();
  Result<std::string> secret = randomBase64Url(kSecretBytes);
  if (!secret.ok()) return secret.status();
  NewToken t;
  t.id = hex(*id_bytes);
  t.text = std::string(kTokenPrefix) + t.id + "_" + *secret;
  t.secret_sha256 = sha256Hex(*secret);
  return t;
}

// --- TokenDirectory ---

void TokenDirectory::put(TokenRecord record) {
  std::string id = record.id;
  tokens_[id] = std::move(record);
}

const TokenRecord* TokenDirectory::find(std::string_view id) const {
  auto it = tokens_.find(id);
  return it == tokens_.end() ? nullptr : &it->second;
}

TokenRecord* TokenDirectory::findMutable(std::string_view id) {
  auto it = tokens_.find(id);
  return it == tokens_.end() ? nullptr : &it->second;
}

std::vector<TokenRecord> TokenDirectory::list() const {
  std::vector<TokenRecord> out;
  for (const auto& [id, t] : tokens_) out.push_back(t);
  std::stable_sort(out.begin(), out.end(), [](const TokenRecord& a, const TokenRecord& b) {
    return a.created_at < b.created_at;
  });
  return out;
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
  Result<std::string> id = randomBase64Url(32);
  if (!id.ok()) return id.status();
  Result<std::string> csrf = randomBase64Url(32);
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
  if (!constantTimeEqual(sha256Hex(sent), sha256Hex(who.csrf_token))) {
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
  Result<TokenParts> parts = parseToken(std::string_view(h).substr(kBearer.size()));
  return parts.ok() ? parts->id : std::string();
}

Result<Principal> Authenticator::principalFor(const TokenRecord& record) {
  if (record.revoked_at) {
    return Status(StatusCode::kUnauthenticated, "token " + record.id + " has been revoked");
  }
  Principal p;
  p.token_id = record.id;
  p.name = record.name;
  p.role = record.role;
  p.scope = record.scope;
  if (TokenRecord* t = tokens_.findMutable(record.id)) t->last_used_at = clock_.now();
  return p;
}

Result<Principal> Authenticator::verifyToken(std::string_view text) {
  Result<TokenParts> parts = parseToken(text);
  if (!parts.ok()) return parts.status();
  const TokenRecord* record = tokens_.find(parts->id);
  // Hash even for an unknown id, so the answer takes as long either way.
  std::string hash = sha256Hex(parts->secret);
  if (!record || !constantTimeEqual(hash, record->secret_sha256)) {
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
  const TokenRecord* record = tokens_.find(s->token_id);
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

bool Authenticator::stillValid(const Principal& who) {
  const TokenRecord* record = tokens_.find(who.token_id);
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
