#include "coordinator/identity/tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>

namespace aifed::identity {
namespace {

constexpr std::string_view kTokenPrefix = "aifed_";
constexpr size_t kTokenIdChars = 12;
constexpr size_t kSecretBytes = 32;
constexpr size_t kSecretChars = 43;  // 32 bytes in unpadded base64url

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
    case Role::kPortal:
      return "portal";
  }
  return "?";
}

std::optional<Role> parseRole(std::string_view name) {
  for (Role r : {Role::kAdmin, Role::kOperator, Role::kViewer, Role::kSubmitter, Role::kSiteAdmin,
                 Role::kPortal}) {
    if (roleName(r) == name) return r;
  }
  return std::nullopt;
}

Status checkScope(Role role, const std::vector<std::string>& scope) {
  for (const std::string& s : scope) {
    if (s.empty()) return invalidArgument("scope entries must not be empty", "scope");
  }
  switch (role) {
    case Role::kSubmitter:
    case Role::kPortal:
      if (scope.empty()) {
        return invalidArgument("a " + std::string(roleName(role)) +
                                   " token needs at least one project in scope",
                               "scope");
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

Status checkUserName(std::string_view user, std::string_view field) {
  constexpr size_t kMaxUserChars = 128;
  auto allowed = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '@';
  };
  if (user.empty() || user.size() > kMaxUserChars || !std::all_of(user.begin(), user.end(), allowed)) {
    return invalidArgument(std::string(field) + " must be a user name of 1 to 128 characters " +
                               "[A-Za-z0-9._@-], got \"" + std::string(user.substr(0, kMaxUserChars)) +
                               "\"",
                           std::string(field));
  }
  return Status::Ok();
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

Result<std::string> randomHex(size_t n) {
  Result<std::string> bytes = randomBytes(n);
  if (!bytes.ok()) return bytes.status();
  return hex(*bytes);
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

}  // namespace aifed::identity
