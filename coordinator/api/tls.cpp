#include "coordinator/api/tls.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <filesystem>

#include "common/crypto.h"
#include "common/files.h"

namespace aifed::api {
namespace {
namespace fs = std::filesystem;

// Owning handles for the OpenSSL objects used here.
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct ExtFree {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The most recent OpenSSL error as text, and the error queue cleared.
std::string opensslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

Result<X509Ptr> parseCertificate(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return internalError("BIO_new_mem_buf: " + opensslError());
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return invalidArgument("not a PEM certificate: " + opensslError());
  return cert;
}

Result<PkeyPtr> parseKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return internalError("BIO_new_mem_buf: " + opensslError());
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return invalidArgument("not a PEM private key: " + opensslError());
  return key;
}

bool addExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, ExtFree> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

}  // namespace

Result<PemPair> generateSelfSignedCertificate(Time now) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> kctx(EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr));
  EVP_PKEY* raw_key = nullptr;
  if (!kctx || EVP_PKEY_keygen_init(kctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kctx.get(), NID_X9_62_prime256v1) <= 0 ||
      EVP_PKEY_keygen(kctx.get(), &raw_key) <= 0) {
    return internalError("cannot generate an EC P-256 key: " + opensslError());
  }
  PkeyPtr key(raw_key);
  X509Ptr cert(X509_new());
  if (!cert) return internalError("X509_new: " + opensslError());
  X509_set_version(cert.get(), 2);  // v3
  // A random 127-bit serial, as RFC 5280 asks of a CA (positive, at most 20 bytes).
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) {
    return internalError("RAND_bytes: " + opensslError());
  }
  serial_bytes[0] &= 0x7F;
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(
      BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr), &BN_free);
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()))) {
    return internalError("certificate serial: " + opensslError());
  }
  time_t start = static_cast<time_t>(toMillis(now) / 1000) - 3600;  // tolerate clock skew
  time_t end = start + 3600 + 10LL * 365 * 24 * 3600;
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), start) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), end)) {
    return internalError("certificate validity: " + opensslError());
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("aifed-coordinator"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("aifed"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  if (!addExtension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1") ||
      !addExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !addExtension(cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !addExtension(cert.get(), NID_ext_key_usage, "serverAuth") ||
      !addExtension(cert.get(), NID_subject_key_identifier, "hash")) {
    return internalError("certificate extensions: " + opensslError());
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    return internalError("cannot sign the certificate: " + opensslError());
  }
  PemPair out;
  BioPtr cbio(BIO_new(BIO_s_mem())), kbio(BIO_new(BIO_s_mem()));
  if (!cbio || !kbio || PEM_write_bio_X509(cbio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(kbio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return internalError("cannot write PEM: " + opensslError());
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(cbio.get(), &data);
  out.cert.assign(data, static_cast<size_t>(len));
  len = BIO_get_mem_data(kbio.get(), &data);
  out.key.assign(data, static_cast<size_t>(len));
  return out;
}

Result<std::string> certificateFingerprint(const std::string& cert_pem) {
  Result<X509Ptr> cert = parseCertificate(cert_pem);
  if (!cert.ok()) return cert.status();
  return common::certificateFingerprint(cert->get());
}

namespace {
Result<Time> notAfterOf(const X509* cert) {
  struct tm t {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &t) != 1) {
    ERR_clear_error();
    return invalidArgument("the certificate's notAfter cannot be read");
  }
  return Time(std::chrono::seconds(timegm(&t)));
}
}  // namespace

Result<Time> certificateNotAfter(const std::string& cert_pem) {
  Result<X509Ptr> cert = parseCertificate(cert_pem);
  if (!cert.ok()) return cert.status();
  return notAfterOf(cert->get());
}

Result<TlsIdentity> loadOrCreateTlsIdentity(const std::string& cert_path,
                                            const std::string& key_path,
                                            const std::string& default_dir, Time now) {
  if (cert_path.empty() != key_path.empty()) {
    return invalidArgument("tls_cert and tls_key go together: set both or neither",
                           cert_path.empty() ? "tls_cert" : "tls_key");
  }
  TlsIdentity id;
  if (cert_path.empty()) {
    id.cert_path = (fs::path(default_dir) / "cert.pem").string();
    id.key_path = (fs::path(default_dir) / "key.pem").string();
    if (!fs::exists(id.cert_path) || !fs::exists(id.key_path)) {
      std::error_code ec;
      fs::create_directories(default_dir, ec);
      if (ec) return unavailable("cannot create " + default_dir + ": " + ec.message());
      fs::permissions(default_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
      Result<PemPair> pair = generateSelfSignedCertificate(now);
      if (!pair.ok()) return pair.status();
      // The key first: a certificate without its key would be reused and then fail.
      if (Status s = common::writeFileAtomically(id.key_path, pair->key, 0600); !s.ok()) return s;
      if (Status s = common::writeFileAtomically(id.cert_path, pair->cert, 0600); !s.ok()) return s;
      id.generated = true;
    }
  } else {
    id.cert_path = cert_path;
    id.key_path = key_path;
  }
  Result<std::string> cert_pem = common::readFile(id.cert_path);
  if (!cert_pem.ok()) return invalidArgument(cert_pem.status().message(), "tls_cert");
  Result<std::string> key_pem = common::readFile(id.key_path);
  if (!key_pem.ok()) return invalidArgument(key_pem.status().message(), "tls_key");
  Result<X509Ptr> cert = parseCertificate(*cert_pem);
  if (!cert.ok()) return invalidArgument(id.cert_path + ": " + cert.status().message(), "tls_cert");
  Result<PkeyPtr> key = parseKey(*key_pem);
  if (!key.ok()) return invalidArgument(id.key_path + ": " + key.status().message(), "tls_key");
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return invalidArgument(
        id.key_path + " is not the private key of the certificate in " + id.cert_path, "tls_key");
  }
  id.cert_pem = *cert_pem;
  id.fingerprint = common::certificateFingerprint(cert->get());
  Result<Time> not_after = notAfterOf(cert->get());
  if (!not_after.ok()) {
    return invalidArgument(id.cert_path + ": " + not_after.status().message(), "tls_cert");
  }
  id.not_after = *not_after;
  return id;
}

Result<std::shared_ptr<boost::asio::ssl::context>> makeServerTlsContext(
    const TlsIdentity& identity) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::no_compression | ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Mozilla's "intermediate" TLS 1.2 list: forward secrecy and AEAD only.
  if (SSL_CTX_set_cipher_list(native,
                              "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                              "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                              "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1) {
    return internalError("cannot set the TLS cipher list: " + opensslError());
  }
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(identity.cert_path, ec);
  if (ec) {
    return invalidArgument(
        identity.cert_path + ": cannot load the certificate chain: " + ec.message(), "tls_cert");
  }
  ctx->use_private_key_file(identity.key_path, ssl::context::pem, ec);
  if (ec) {
    return invalidArgument(identity.key_path + ": cannot load the private key: " + ec.message(),
                           "tls_key");
  }
  return ctx;
}

}  // namespace aifed::api
