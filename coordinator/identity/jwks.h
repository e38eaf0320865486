// The public keys of an OpenID Connect issuer, from a JSON Web Key Set file (RFC 7517)
// that an operator (or a timer copying the issuer's jwks_uri) keeps on disk. The
// coordinator never fetches keys over the network: the file is re-read when it changes,
// judged by its modification time, size and inode (docs/security.md, "OpenID Connect").
//
//   FileReaderImpl files;
//   JwksFile jwks("/etc/aifed/oidc/jwks.json", files);
//   Result<std::vector<JsonWebKey>> keys = jwks.keys();   // re-read if the file changed
//   for (const JsonWebKey& k : *keys) if (k.kid == kid) verifyWith(k.pem);
//
// Keys are handed to libjwt as PEM: libjwt 1.10 does not read JWKs itself, so RSA keys
// (n, e) and EC keys (crv, x, y) are rebuilt with OpenSSL 3 here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"

namespace aifed::identity {

// One verification key of a set.
struct JsonWebKey {
  std::string kid;
  std::string kty;  // "RSA" or "EC"
  std::string crv;  // EC: "P-256", "P-384", "P-521"
  std::string alg;  // as the set states it ("RS256", ...), "" when it does not
  std::string pem;  // SubjectPublicKeyInfo, PEM
};

// The keys of a JWKS document. Keys for encryption ("use": "enc") and of other types
// (symmetric "oct", "OKP") are skipped: only RSA and EC signature keys are used.
// kInvalidArgument naming the key (its index and kid) when the document is not a JWKS
// or an RSA/EC key's parameters do not make a public key.
Result<std::vector<JsonWebKey>> parseJwks(std::string_view json);

// What identifies one version of a file's content without reading it.
struct FileVersion {
  int64_t mtime_ns = 0;
  uint64_t size = 0;
  uint64_t inode = 0;
  bool operator==(const FileVersion&) const = default;
};

// File access, injected so the re-read rule can be exercised exactly.
class FileReader {
 public:
  virtual ~FileReader() = default;
  virtual Result<FileVersion> stat(const std::string& path) = 0;
  virtual Result<std::string> read(const std::string& path) = 0;
};

// stat(2) and common::readFile.
class FileReaderImpl final : public FileReader {
 public:
  // --- FileReader ---
  Result<FileVersion> stat(const std::string& path) override;
  Result<std::string> read(const std::string& path) override;
};

// A JWKS file, re-read whenever its version differs from the one last loaded.
// Not thread-safe (the coordinator's event loop owns it).
class JwksFile {
 public:
  JwksFile(std::string path, FileReader& files) : path_(std::move(path)), files_(files) {}

  // The keys of the file's current version. When the file cannot be stated, read or
  // parsed, the keys last loaded stay in use (a half-written file must not lock everyone
  // out; the failure is logged once per version) and the next call tries again; with no
  // keys ever loaded, kUnavailable naming the file and why.
  Result<std::vector<JsonWebKey>> keys();
  const std::string& path() const { return path_; }
  // How often the file was read and parsed successfully (for tests and the log).
  int loads() const { return loads_; }

 private:
  std::string path_;
  FileReader& files_;
  std::optional<FileVersion> loaded_;  // the version `keys_` came from
  std::optional<FileVersion> failed_;  // the version that last failed (logged once)
  std::vector<JsonWebKey> keys_;
  int loads_ = 0;
};

// Unpadded base64url (RFC 4648 section 5) to bytes; nullopt for any other character or
// an impossible length. Padding '=' is refused, as JWS requires.
std::optional<std::string> base64UrlDecode(std::string_view text);

}  // namespace aifed::identity
