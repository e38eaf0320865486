// Who may use the coordinator's REST API, as data: roles, the stored token records and
// the text of tokens (docs/security.md). The vocabulary shared by the store, which keeps
// tokens durable, and the REST layer (coordinator/api/auth.h), which authenticates and
// authorizes requests with them. Pure but for the random bytes of new tokens (OpenSSL).
//
// Tokens look like `aifed_<id>_<secret>`: id 12 lower-case hex characters (public, the
// audit log's actor), secret 32 random bytes in unpadded base64url. Only SHA-256(secret)
// is stored, and it is compared in constant time.
//
//   Result<identity::NewToken> fresh = identity::generateToken();
//   identity::TokenRecord t{.id = fresh->id, .name = "ci", .role = identity::Role::kViewer,
//                           .secret_sha256 = fresh->secret_sha256};
//   directory.put(t);                                  // show fresh->text once, keep t
//   Result<identity::TokenParts> parts = identity::parseToken(presented_text);
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed::identity {

// kPortal: a service (a science gateway, a portal) that submits jobs on its users'
// behalf, scoped to projects like a submitter; the only role besides admin that may
// name another user as a job's owner.
enum class Role { kAdmin, kOperator, kViewer, kSubmitter, kSiteAdmin, kPortal };

// "admin", "operator", "viewer", "submitter", "site-admin", "portal".
std::string_view roleName(Role role);
std::optional<Role> parseRole(std::string_view name);

// A stored API token. `scope` is the projects of a submitter or portal or the one site
// of a site-admin, empty for the other roles. `user` is the federation user the token
// belongs to: the owner of every job it submits (docs/security.md, "Job owners"). Tokens
// made before schema 8 got their name as user when the name is a valid user name, ""
// otherwise (such a token cannot submit).
struct TokenRecord {
  std::string id;
  std::string name;
  std::string user;
  Role role = Role::kViewer;
  std::vector<std::string> scope;
  std::string secret_sha256;  // lower-case hex
  Time created_at{};
  std::string created_by;  // token id of the creator, or "bootstrap"
  std::optional<Time> revoked_at;
  std::optional<Time> last_used_at;
  bool operator==(const TokenRecord&) const = default;
};

// The scope a role requires: kInvalidArgument (field "scope") when a submitter or portal
// has no project, a site-admin not exactly one site, or another role any scope.
Status checkScope(Role role, const std::vector<std::string>& scope);

// A federation user name: what JobSpec.user allows (protocol/types.cpp): 1 to 128 of
// [A-Za-z0-9._@-]. kInvalidArgument naming `field` otherwise.
Status checkUserName(std::string_view user, std::string_view field = "user");

// --- Token text ---
struct TokenParts {
  std::string id;
  std::string secret;
};
// Splits "aifed_<12 hex>_<secret>"; kUnauthenticated "malformed token" otherwise.
Result<TokenParts> parseToken(std::string_view text);

struct NewToken {
  std::string id;
  std::string text;  // the whole "aifed_<id>_<secret>", shown once
  std::string secret_sha256;
};
// Fresh random id and secret (RAND_bytes). kInternal if the generator fails.
Result<NewToken> generateToken();

// Lower-case hex SHA-256 of `data` (OpenSSL EVP).
std::string sha256Hex(std::string_view data);
// Compares without an early exit, so timing does not reveal a matching prefix.
bool constantTimeEqual(std::string_view a, std::string_view b);
// `bytes` random bytes in unpadded base64url; kInternal if the generator fails.
Result<std::string> randomBase64Url(size_t bytes);
// `bytes` random bytes as lower-case hex; kInternal if the generator fails.
Result<std::string> randomHex(size_t bytes);
std::string base64UrlEncode(std::string_view bytes);

// The known tokens, by id (the store keeps them durable; this is the lookup).
class TokenDirectory {
 public:
  void put(TokenRecord record);
  const TokenRecord* find(std::string_view id) const;
  TokenRecord* findMutable(std::string_view id);
  std::vector<TokenRecord> list() const;  // by creation time, then id
  size_t size() const { return tokens_.size(); }

 private:
  std::map<std::string, TokenRecord, std::less<>> tokens_;
};

}  // namespace aifed::identity
