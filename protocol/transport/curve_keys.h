// CURVE key pairs for agents and the coordinator (Z85 text, 40 characters each).
//
// Key files are small TOML documents so an operator can read them:
//   # aifed CURVE key pair for "mimer" ...
//   public = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
//   secret = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
// The secret file is written with mode 0600; `<name>.pub` holds only the public key.
//
//   Result<CurveKeyPair> kp = generateCurveKeyPair();
//   Status s = writeKeyPair(*kp, "/etc/aifed/keys", "mimer");
//   Result<CurveKeyPair> back = readKeyPairFile("/etc/aifed/keys/mimer.key");
#pragma once

#include <string>

#include "protocol/status.h"

namespace aifed::transport {

struct CurveKeyPair {
  std::string public_key;  // Z85, 40 chars
  std::string secret_key;  // Z85, 40 chars; empty when only the public part is known
};

// kFailedPrecondition if this libzmq was built without CURVE.
Result<CurveKeyPair> generateCurveKeyPair();
// True if `key` is 40 characters of the Z85 alphabet.
bool isValidZ85Key(const std::string& key);
// Writes <dir>/<name>.key (public + secret, mode 0600) and <dir>/<name>.pub (public).
// Refuses to overwrite an existing .key unless `overwrite`.
Status writeKeyPair(const CurveKeyPair& pair, const std::string& dir, const std::string& name,
                    bool overwrite = false);
// Reads a .key (both keys) or .pub (public only) file.
Result<CurveKeyPair> readKeyPairFile(const std::string& path);

}  // namespace aifed::transport
