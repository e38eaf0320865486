// CURVE key pairs for agents and the coordinator (Z85 text, 40 characters each).
//
// The secret key file `<name>.key` is a small TOML document so an operator can read it
// (mode 0600):
//   # aifed CURVE key pair for "mimer" ...
//   public = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
//   secret = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
// `<name>.pub` holds the bare public key and a newline, so it can be pasted into the
// federation file or mailed as it is; a `.pub` in the older TOML form (`public = "..."`)
// is still read. A key is compared out of band by its fingerprint, as ssh prints one:
// "SHA256:" + unpadded base64 of SHA-256 over the 32 raw key bytes.
//
//   Result<CurveKeyPair> kp = generateCurveKeyPair();
//   Status s = writeKeyPair(*kp, "/etc/aifed/keys", "mimer");
//   Result<CurveKeyPair> back = readKeyPairFile("/etc/aifed/keys/mimer.key");
//   Result<std::string> fp = curveKeyFingerprint(back->public_key);  // "SHA256:1Qm..."
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
// Writes <dir>/<name>.key (public + secret, mode 0600) and <dir>/<name>.pub (the bare
// public key and a newline, mode 0644). Refuses to overwrite an existing .key unless
// `overwrite`.
Status writeKeyPair(const CurveKeyPair& pair, const std::string& dir, const std::string& name,
                    bool overwrite = false);
// Reads a .key (both keys) or .pub (public only) file: TOML `public = "..."` (and
// `secret = "..."`), or a bare Z85 key on the first line that is neither blank nor a
// comment. kInvalidArgument naming the file when neither form holds a valid key.
Result<CurveKeyPair> readKeyPairFile(const std::string& path);
// Reads a public key given either as a file (any form readKeyPairFile reads) or, when
// `file_or_key` is itself a 40-character Z85 key that names no file, as the key.
Result<std::string> readPublicKey(const std::string& file_or_key);
// "SHA256:" + unpadded base64 of SHA-256 over the 32 bytes `z85` decodes to (the form
// `ssh-keygen -l` prints). kInvalidArgument when `z85` is not a 40-character Z85 key.
Result<std::string> curveKeyFingerprint(const std::string& z85);

}  // namespace aifed::transport
