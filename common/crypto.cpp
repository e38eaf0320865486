#include "common/crypto.h"

#include <openssl/evp.h>

namespace aifed::common {

std::string certificateFingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // Invariant: X509_digest with SHA-256 fails only on allocation failure; the empty
  // fingerprint then matches no pin.
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    if (i) out.push_back(':');
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xF]);
  }
  return out;
}

}  // namespace aifed::common
