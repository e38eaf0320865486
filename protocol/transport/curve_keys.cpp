#include "protocol/transport/curve_keys.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <zmq.h>

#include <array>
#include <filesystem>
#include <sstream>

#include "common/files.h"

namespace aifed::transport {
namespace {

constexpr std::string_view kZ85Alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

// Reads `key = "value"` from a key file; returns "" when absent.
std::string readQuoted(const std::string& text, std::string_view key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    if (line.compare(start, key.size(), key) != 0) continue;
    size_t eq = line.find('=', start + key.size());
    if (eq == std::string::npos) continue;
    // Only whitespace may stand between the key and '='.
    if (line.find_first_not_of(" \t", start + key.size()) != eq) continue;
    size_t open = line.find('"', eq);
    size_t close = open == std::string::npos ? open : line.find('"', open + 1);
    if (close == std::string::npos) return {};
    return line.substr(open + 1, close - open - 1);
  }
  return {};
}

// The first line that is neither blank nor a comment, trimmed; "" when none.
std::string firstContentLine(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos || line[start] == '#') continue;
    size_t end = line.find_last_not_of(" \t\r");
    return line.substr(start, end - start + 1);
  }
  return {};
}

}  // namespace

bool isValidZ85Key(const std::string& key) {
  if (key.size() != 40) return false;
  for (char c : key) {
    if (kZ85Alphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

Result<CurveKeyPair> generateCurveKeyPair() {
  if (!zmq_has("curve")) {
    return failedPrecondition("this libzmq was built without CURVE support");
  }
  char pub[41] = {};
  char sec[41] = {};
  if (zmq_curve_keypair(pub, sec) != 0) {
    return internalError(std::string("zmq_curve_keypair failed: ") + zmq_strerror(zmq_errno()));
  }
  return CurveKeyPair{pub, sec};
}

Status writeKeyPair(const CurveKeyPair& pair, const std::string& dir, const std::string& name,
                    bool overwrite) {
  if (!isValidZ85Key(pair.public_key) || !isValidZ85Key(pair.secret_key)) {
    return invalidArgument("key pair is not two 40-character Z85 keys");
  }
  if (name.empty() || name.find('/') != std::string::npos) {
    return invalidArgument("key name must be a plain file name, got \"" + name + "\"", "name");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return unavailable("cannot create directory " + dir + ": " + ec.message());
  std::filesystem::path key_path = std::filesystem::path(dir) / (name + ".key");
  std::filesystem::path pub_path = std::filesystem::path(dir) / (name + ".pub");
  if (!overwrite && std::filesystem::exists(key_path)) {
    return Status(StatusCode::kAlreadyExists,
                  key_path.string() + " exists; refusing to overwrite a secret key");
  }
  std::string header = "# aifed CURVE key pair for \"" + name + "\" (Z85).\n";
  Status s = common::writeFileAtomically(
      key_path.string(),
      header + "# SECRET: keep this file private (mode 0600).\npublic = \"" + pair.public_key +
          "\"\nsecret = \"" + pair.secret_key + "\"\n",
      0600);
  if (!s.ok()) return s;
  return common::writeFileAtomically(pub_path.string(), pair.public_key + "\n", 0644);
}

Result<CurveKeyPair> readKeyPairFile(const std::string& path) {
  Result<std::string> text = common::readFile(path);
  if (!text.ok()) return text.status();
  CurveKeyPair pair{readQuoted(*text, "public"), readQuoted(*text, "secret")};
  // A bare public key (a .pub as keygen writes it since issue 17).
  if (pair.public_key.empty() && pair.secret_key.empty()) pair.public_key = firstContentLine(*text);
  if (!isValidZ85Key(pair.public_key)) {
    return invalidArgument(
        path + ": neither a bare 40-character Z85 key nor a `public = \"<40 Z85 chars>\"` line",
        "public");
  }
  if (!pair.secret_key.empty() && !isValidZ85Key(pair.secret_key)) {
    return invalidArgument(path + ": `secret` is not a 40-character Z85 key", "secret");
  }
  return pair;
}

Result<std::string> readPublicKey(const std::string& file_or_key) {
  std::error_code ec;
  if (isValidZ85Key(file_or_key) && !std::filesystem::exists(file_or_key, ec)) {
    return file_or_key;
  }
  Result<CurveKeyPair> pair = readKeyPairFile(file_or_key);
  if (!pair.ok()) return pair.status();
  return pair->public_key;
}

Result<std::string> curveKeyFingerprint(const std::string& z85) {
  if (!isValidZ85Key(z85)) {
    return invalidArgument("\"" + z85 + "\" is not a 40-character Z85 CURVE key", "key");
  }
  std::array<uint8_t, 32> raw{};
  if (zmq_z85_decode(raw.data(), z85.c_str()) == nullptr) {
    return invalidArgument("\"" + z85 + "\" does not decode as Z85", "key");
  }
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(raw.data(), raw.size(), digest.data());
  // 32 bytes encode to 44 base64 characters, the last one '=' padding.
  std::array<unsigned char, 4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1> b64{};
  int n = EVP_EncodeBlock(b64.data(), digest.data(), static_cast<int>(digest.size()));
  std::string text(reinterpret_cast<const char*>(b64.data()), static_cast<size_t>(n));
  while (!text.empty() && text.back() == '=') text.pop_back();
  return "SHA256:" + text;
}

}  // namespace aifed::transport
