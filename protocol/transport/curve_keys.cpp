#include "protocol/transport/curve_keys.h"

#include <zmq.h>

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
  return common::writeFileAtomically(pub_path.string(),
                                     "# aifed CURVE public key for \"" + name +
                                         "\": put it in the federation file.\npublic = \"" +
                                         pair.public_key + "\"\n",
                                     0644);
}

Result<CurveKeyPair> readKeyPairFile(const std::string& path) {
  Result<std::string> text = common::readFile(path);
  if (!text.ok()) return text.status();
  CurveKeyPair pair{readQuoted(*text, "public"), readQuoted(*text, "secret")};
  if (!isValidZ85Key(pair.public_key)) {
    return invalidArgument(path + ": no valid `public = \"<40 Z85 chars>\"` line", "public");
  }
  if (!pair.secret_key.empty() && !isValidZ85Key(pair.secret_key)) {
    return invalidArgument(path + ": `secret` is not a 40-character Z85 key", "secret");
  }
  return pair;
}

}  // namespace aifed::transport
