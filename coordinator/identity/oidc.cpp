#include "coordinator/identity/oidc.h"

#include <jwt.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>

namespace aifed::identity {
namespace json = boost::json;
namespace {

Status refuse(OidcError error, const std::string& detail, const std::string& field) {
  return Status(StatusCode::kUnauthenticated, std::string(oidcErrorName(error)) + ": " + detail,
                field);
}

bool isBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// The JSON object a token part encodes.
Result<json::object> partObject(std::string_view part, const char* what) {
  std::optional<std::string> bytes = base64UrlDecode(part);
  if (!bytes) return refuse(OidcError::kMalformed, std::string(what) + " is not base64url", "token");
  boost::system::error_code ec;
  json::value v = json::parse(*bytes, ec);
  if (ec || !v.is_object()) {
    return refuse(OidcError::kMalformed, std::string(what) + " is not a JSON object", "token");
  }
  return std::move(v.as_object());
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// A claim that is a string or an array of strings, as a list ("" and absent: empty).
// A string holding spaces is split (OAuth's "scope" style).
std::vector<std::string> stringList(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (!v) return out;
  if (v->is_string()) {
    std::string_view s = v->get_string();
    while (!s.empty()) {
      size_t sp = s.find(' ');
      if (sp != 0) out.emplace_back(s.substr(0, sp));
      if (sp == std::string_view::npos) break;
      s.remove_prefix(sp + 1);
    }
  } else if (v->is_array()) {
    for (const json::value& e : v->as_array()) {
      if (e.is_string()) out.emplace_back(e.get_string());
    }
  }
  return out;
}

// A NumericDate claim (seconds since the epoch), if present and a number.
std::optional<double> numericDate(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_double() && std::isfinite(v->get_double())) return v->get_double();
  return std::nullopt;
}

struct AlgInfo {
  std::string_view name;
  std::string_view kty;
  std::string_view crv;  // EC only
};
constexpr std::array<AlgInfo, 6> kAlgorithms = {{{"RS256", "RSA", ""},
                                                  {"RS384", "RSA", ""},
                                                  {"RS512", "RSA", ""},
                                                  {"ES256", "EC", "P-256"},
                                                  {"ES384", "EC", "P-384"},
                                                  {"ES512", "EC", "P-521"}}};

const AlgInfo* findAlg(std::string_view name) {
  for (const AlgInfo& a : kAlgorithms) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

// The key `kid` names; without a kid, the only key of the algorithm's type.
const JsonWebKey* selectKey(const std::vector<JsonWebKey>& keys, const std::string& kid,
                            const AlgInfo& alg) {
  const JsonWebKey* found = nullptr;
  for (const JsonWebKey& k : keys) {
    if (kid.empty() ? k.kty != alg.kty : k.kid != kid) continue;
    if (found) return nullptr;  // ambiguous
    found = &k;
  }
  return found;
}

// libjwt's check of the signature with `key`, whose type fits `alg`.
Status checkSignature(std::string_view token, const JsonWebKey& key, const AlgInfo& alg) {
  if (key.kty != alg.kty || (!alg.crv.empty() && key.crv != alg.crv) ||
      (!key.alg.empty() && key.alg != alg.name)) {
    return refuse(OidcError::kBadSignature,
                  "key \"" + key.kid + "\" (" + key.kty + (key.crv.empty() ? "" : " " + key.crv) +
                      ") cannot verify " + std::string(alg.name),
                  "token.signature");
  }
  std::string text(token);
  jwt_t* jwt = nullptr;
  int rc = jwt_decode(&jwt, text.c_str(), reinterpret_cast<const unsigned char*>(key.pem.data()),
                      static_cast<int>(key.pem.size()));
  bool same_alg = rc == 0 && jwt != nullptr && jwt_get_alg(jwt) == jwt_str_alg(std::string(alg.name).c_str());
  if (jwt) jwt_free(jwt);
  if (!same_alg) {
    return refuse(OidcError::kBadSignature,
                  "the " + std::string(alg.name) + " signature does not verify with key \"" +
                      key.kid + "\"",
                  "token.signature");
  }
  return Status::Ok();
}

// The claims' checks after the signature's: audience, validity, user, role, scope.
Result<OidcIdentity> identityOf(const OidcIssuer& cfg, Duration leeway,
                                const json::object& payload, Time now) {
  std::vector<std::string> aud = stringList(payload, "aud");
  if (std::find(aud.begin(), aud.end(), cfg.audience) == aud.end()) {
    std::string got;
    for (const std::string& a : aud) got += (got.empty() ? "" : ", ") + a;
    return refuse(OidcError::kWrongAudience,
                  "the token is for [" + got + "], not \"" + cfg.audience + "\"", "token.aud");
  }
  double now_s = static_cast<double>(toMillis(now)) / 1000.0;
  double leeway_s = std::chrono::duration<double>(leeway).count();
  std::optional<double> exp = numericDate(payload, "exp");
  if (!exp) return refuse(OidcError::kMalformed, "the token has no numeric exp claim", "token.exp");
  auto secs = [](double s) { return std::to_string(static_cast<int64_t>(std::floor(s))); };
  if (now_s > *exp + leeway_s) {
    return refuse(OidcError::kExpired,
                  "exp " + secs(*exp) + " is " + secs(now_s - *exp) + " s ago (leeway " +
                      secs(leeway_s) + " s)",
                  "token.exp");
  }
  if (std::optional<double> nbf = numericDate(payload, "nbf"); nbf && *nbf > now_s + leeway_s) {
    return refuse(OidcError::kNotYetValid,
                  "nbf " + secs(*nbf) + " is " + secs(*nbf - now_s) + " s ahead (leeway " +
                      secs(leeway_s) + " s)",
                  "token.nbf");
  }
  OidcIdentity id;
  id.issuer = cfg.issuer;
  id.subject = str(payload, "sub");
  id.user = str(payload, cfg.user_claim);
  // Clamped, so an absurd exp cannot overflow the conversion (year 33658 is forever).
  id.expires_at = fromMillis(static_cast<int64_t>(std::min(*exp, 1e12) * 1000.0));
  if (Status s = checkUserName(id.user, "token." + cfg.user_claim); !s.ok()) {
    return refuse(OidcError::kNoUser, "claim \"" + cfg.user_claim + "\": " + s.message(),
                  "token." + cfg.user_claim);
  }
  std::vector<std::string> values = stringList(payload, cfg.roles_claim);
  auto rule = std::find_if(cfg.roles.begin(), cfg.roles.end(), [&](const OidcRoleRule& r) {
    return std::find(values.begin(), values.end(), r.value) != values.end();
  });
  if (rule == cfg.roles.end()) {
    std::string got;
    for (const std::string& v : values) got += (got.empty() ? "" : ", ") + v;
    return refuse(OidcError::kUnmappedRole,
                  "no value of claim \"" + cfg.roles_claim + "\" ([" + got +
                      "]) maps to an aifed role",
                  "token." + cfg.roles_claim);
  }
  id.role = rule->role;
  const std::string* scope_claim = nullptr;
  if (id.role == Role::kSubmitter || id.role == Role::kPortal) scope_claim = &cfg.projects_claim;
  if (id.role == Role::kSiteAdmin) scope_claim = &cfg.sites_claim;
  if (scope_claim) id.scope = stringList(payload, *scope_claim);
  if (Status s = checkScope(id.role, id.scope); !s.ok()) {
    std::string claim = scope_claim ? *scope_claim : "scope";
    return refuse(OidcError::kBadScope, "claim \"" + claim + "\": " + s.message(), "token." + claim);
  }
  return id;
}

}  // namespace

std::string_view oidcErrorName(OidcError error) {
  switch (error) {
    case OidcError::kMalformed:
      return "malformed token";
    case OidcError::kUnsupportedAlg:
      return "unsupported algorithm";
    case OidcError::kWrongIssuer:
      return "wrong issuer";
    case OidcError::kUnknownKeyId:
      return "unknown key id";
    case OidcError::kBadSignature:
      return "bad signature";
    case OidcError::kWrongAudience:
      return "wrong audience";
    case OidcError::kExpired:
      return "token expired";
    case OidcError::kNotYetValid:
      return "token not yet valid";
    case OidcError::kNoUser:
      return "no user";
    case OidcError::kUnmappedRole:
      return "unmapped role";
    case OidcError::kBadScope:
      return "bad scope";
    case OidcError::kNoKeys:
      return "no keys";
  }
  return "?";
}

OidcVerifier::OidcVerifier(OidcConfig config, FileReader& files) : config_(std::move(config)) {
  for (const OidcIssuer& i : config_.issuers) {
    issuers_.push_back(Trusted{i, std::make_unique<JwksFile>(i.jwks_file, files)});
  }
}

void OidcVerifier::preload() {
  for (Trusted& t : issuers_) (void)t.jwks->keys();  // JwksFile logs what it loads or why not
}

bool OidcVerifier::looksLikeJwt(std::string_view text) {
  size_t first = text.find('.');
  if (first == std::string_view::npos || first == 0) return false;
  size_t second = text.find('.', first + 1);
  if (second == std::string_view::npos || second == first + 1) return false;
  if (text.find('.', second + 1) != std::string_view::npos) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return c == '.' || isBase64UrlChar(c); });
}

Result<OidcIdentity> OidcVerifier::verify(std::string_view token, Time now) {
  if (!looksLikeJwt(token)) {
    return refuse(OidcError::kMalformed, "expected <header>.<payload>.<signature>", "token");
  }
  size_t first = token.find('.');
  size_t second = token.find('.', first + 1);
  ASSIGN_OR_RETURN(json::object header, partObject(token.substr(0, first), "the header"));
  ASSIGN_OR_RETURN(json::object payload,
                   partObject(token.substr(first + 1, second - first - 1), "the payload"));
  std::string alg_name = str(header, "alg");
  const AlgInfo* alg = findAlg(alg_name);
  if (!alg) {
    return refuse(OidcError::kUnsupportedAlg,
                  "\"" + alg_name + "\" (accepted: RS256, RS384, RS512, ES256, ES384, ES512)",
                  "token.alg");
  }
  std::string iss = str(payload, "iss");
  auto trusted = std::find_if(issuers_.begin(), issuers_.end(),
                              [&](const Trusted& t) { return t.config.issuer == iss; });
  if (trusted == issuers_.end()) {
    return refuse(OidcError::kWrongIssuer, "\"" + iss + "\" is not a trusted issuer", "token.iss");
  }
  Result<std::vector<JsonWebKey>> keys = trusted->jwks->keys();
  if (!keys.ok()) return refuse(OidcError::kNoKeys, keys.status().message(), "token.kid");
  std::string kid = str(header, "kid");
  const JsonWebKey* key = selectKey(*keys, kid, *alg);
  if (!key) {
    return refuse(OidcError::kUnknownKeyId,
                  kid.empty() ? "the token names no kid and " + trusted->jwks->path() +
                                    " has no single " + std::string(alg->kty) + " key"
                              : "\"" + kid + "\" is not in " + trusted->jwks->path(),
                  "token.kid");
  }
  RETURN_IF_ERROR(checkSignature(token, *key, *alg));
  return identityOf(trusted->config, config_.leeway, payload, now);
}

}  // namespace aifed::identity
