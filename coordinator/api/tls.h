// The coordinator's TLS identity: a PEM certificate and key from the configuration, or,
// when none is configured, an EC P-256 self-signed certificate created on first start
// next to the database and reused afterwards. Clients pin it by its SHA-256 fingerprint.
//
//   Result<TlsIdentity> id = loadOrCreateTlsIdentity(cfg.tls_cert, cfg.tls_key,
//                                                    db_dir + "/tls", clock.now());
//   spdlog::info("TLS certificate SHA-256 fingerprint: {}", id->fingerprint);
//   Result<std::shared_ptr<boost::asio::ssl::context>> ctx = makeServerTlsContext(*id);
//   HttpServerOptions o; o.tls = *ctx;
#pragma once

#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed::api {

struct TlsIdentity {
  std::string cert_path;
  std::string key_path;
  std::string cert_pem;     // the leaf certificate (first PEM block of cert_path)
  std::string fingerprint;  // SHA-256 of the leaf's DER, "AB:CD:..." upper-case
  bool generated = false;   // created by this call
  Time not_after{};         // the leaf's expiry (/metrics aifed_tls_certificate_expiry_...)
};

// With both paths set, reads them (kInvalidArgument naming the file when unreadable or
// when the key does not match the certificate). With both empty, uses
// `<default_dir>/cert.pem` and `<default_dir>/key.pem`, creating them (directory 0700,
// files 0600) when absent. One set and the other empty is kInvalidArgument.
Result<TlsIdentity> loadOrCreateTlsIdentity(const std::string& cert_path,
                                            const std::string& key_path,
                                            const std::string& default_dir, Time now);

// A self-signed EC P-256 certificate, CN aifed-coordinator, SAN DNS:localhost,
// IP:127.0.0.1, IP:::1, valid from an hour before `now` for ten years. PEM texts.
struct PemPair {
  std::string cert;
  std::string key;
};
Result<PemPair> generateSelfSignedCertificate(Time now);

// "AB:CD:..." SHA-256 fingerprint of the first certificate in `cert_pem`
// (common::certificateFingerprint of the parsed certificate).
Result<std::string> certificateFingerprint(const std::string& cert_pem);

// When the first certificate in `cert_pem` expires (its notAfter).
Result<Time> certificateNotAfter(const std::string& cert_pem);

// A server context: TLS 1.2 minimum, ECDHE + AEAD cipher suites for TLS 1.2 (TLS 1.3
// keeps OpenSSL's defaults), no renegotiation, no compression, the server's cipher order.
Result<std::shared_ptr<boost::asio::ssl::context>> makeServerTlsContext(
    const TlsIdentity& identity);

}  // namespace aifed::api
