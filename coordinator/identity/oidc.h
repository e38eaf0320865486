// OpenID Connect bearer tokens (signed JWTs from a trusted issuer) as a second way into
// the REST API beside aifed's own tokens (docs/security.md, "OpenID Connect").
//
// A token is accepted when its issuer is one of the configured ones, its signature
// verifies with a key of that issuer's JWKS file (RS256/384/512, ES256/384/512), its
// audience holds the configured one, it has not expired and is already valid (exp and
// nbf, each with the configured leeway), it names a valid user and one of its roles
// claim's values maps to an aifed role. Each refusal is kUnauthenticated with its own
// message and field ("token.exp", "token.iss", ...), so a client and the log can tell
// them apart (OidcError).
//
//   FileReaderImpl files;
//   OidcVerifier oidc(config.oidc, files);
//   if (OidcVerifier::looksLikeJwt(bearer)) {
//     Result<OidcIdentity> who = oidc.verify(bearer, clock.now());
//   }
//
// Signatures are checked by libjwt (Debian's libjwt-dev 1.10); everything else here.
// libjwt 1.10 verifies with whatever algorithm the token's header names, so the header's
// algorithm is checked against the key's type first (an RSA public key must never serve
// as an HMAC secret).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/identity/jwks.h"
#include "coordinator/identity/tokens.h"
#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed::identity {

// A value of the roles claim and the aifed role it grants.
struct OidcRoleRule {
  std::string value;  // e.g. the group "aifed-admins"
  Role role = Role::kViewer;
};

// One trusted issuer ([[oidc.issuer]] in coordinator.toml).
struct OidcIssuer {
  std::string issuer;     // must equal the token's "iss"
  std::string audience;   // must be (in) the token's "aud"
  std::string jwks_file;  // its keys, re-read when the file changes
  std::string user_claim = "preferred_username";  // the federation user (or "sub")
  std::string roles_claim = "groups";             // a string or an array of strings
  std::vector<OidcRoleRule> roles;                // the first rule the claim holds wins
  std::string projects_claim = "aifed_projects";  // scope of submitter and portal
  std::string sites_claim = "aifed_sites";        // scope of site-admin
};

struct OidcConfig {
  std::vector<OidcIssuer> issuers;  // none: OIDC is off
  Duration leeway = std::chrono::seconds(60);  // clock skew allowed on exp and nbf
};

// Who a verified token says the caller is.
struct OidcIdentity {
  std::string issuer;
  std::string subject;  // "sub"
  std::string user;     // the user claim's value
  Role role = Role::kViewer;
  std::vector<std::string> scope;
  Time expires_at{};
};

// Why a token was refused: each a distinct message prefix and field.
enum class OidcError {
  kMalformed,         // "malformed token"            token
  kUnsupportedAlg,    // "unsupported algorithm"      token.alg
  kWrongIssuer,       // "wrong issuer"               token.iss
  kUnknownKeyId,      // "unknown key id"             token.kid
  kBadSignature,      // "bad signature"              token.signature
  kWrongAudience,     // "wrong audience"             token.aud
  kExpired,           // "token expired"              token.exp
  kNotYetValid,       // "token not yet valid"        token.nbf
  kNoUser,            // "no user"                    token.<user claim>
  kUnmappedRole,      // "unmapped role"              token.<roles claim>
  kBadScope,          // "bad scope"                  token.<projects/sites claim>
  kNoKeys,            // "no keys"                    token.kid (the JWKS file is unusable)
};
std::string_view oidcErrorName(OidcError error);  // the message prefix

class OidcVerifier {
 public:
  // `files` must outlive the verifier.
  OidcVerifier(OidcConfig config, FileReader& files);

  // Three non-empty base64url parts separated by dots: a JWS in compact form. aifed's own
  // tokens ("aifed_<id>_<secret>") never contain a dot.
  static bool looksLikeJwt(std::string_view text);

  // Verifies `token` at `now` (the checks in the header comment, in that order).
  Result<OidcIdentity> verify(std::string_view token, Time now);
  // Loads every issuer's JWKS file now, so a missing or broken one is logged at start
  // rather than at the first token (it is not fatal: the file may be provided later).
  void preload();
  bool enabled() const { return !config_.issuers.empty(); }
  const OidcConfig& config() const { return config_; }

 private:
  struct Trusted {
    OidcIssuer config;
    std::unique_ptr<JwksFile> jwks;
  };
  OidcConfig config_;
  std::vector<Trusted> issuers_;
};

}  // namespace aifed::identity
