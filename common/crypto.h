// Cryptographic formatting shared by the coordinator's TLS code and its clients (the
// CLI, the HTTPS benchmark): the SHA-256 fingerprint users pin a certificate by.
//
//   // in an OpenSSL verify callback:
//   X509* leaf = X509_STORE_CTX_get_current_cert(store);
//   bool pinned = common::certificateFingerprint(leaf) == "3F:A2:...:C7";
#pragma once

#include <openssl/x509.h>

#include <string>

namespace aifed::common {

// SHA-256 of the certificate's DER encoding as upper-case hex pairs joined by ':'
// ("AB:CD:..."), the form `openssl x509 -noout -fingerprint -sha256` prints.
std::string certificateFingerprint(X509* cert);

}  // namespace aifed::common
