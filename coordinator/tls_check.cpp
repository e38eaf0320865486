// checkTls (config_check.h): the HTTPS certificate and key as a start would load them.
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>

#include "common/files.h"
#include "coordinator/config_check.h"

namespace aifed::coordinator {
namespace {

using common::CheckEnvironment;
using common::CheckReport;

constexpr int kWarnDays = 30;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<X509, X509Free> parseCertificate(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return std::unique_ptr<X509, X509Free>(
      bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

std::unique_ptr<EVP_PKEY, KeyFree> parseKey(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return std::unique_ptr<EVP_PKEY, KeyFree>(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

// "2027-03-01" of an ASN1 time.
std::string dateOf(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// Days (rounded down) from `now` until `t`; negative once past.
std::optional<int> daysUntil(const ASN1_TIME* t, Time now) {
  std::time_t secs = static_cast<std::time_t>(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> at(ASN1_TIME_set(nullptr, secs),
                                                           ASN1_TIME_free);
  int days = 0, seconds = 0;
  if (!at || ASN1_TIME_diff(&days, &seconds, at.get(), t) != 1) return std::nullopt;
  if (days == 0 && seconds < 0) return -1;
  return days;
}

void checkValidity(CheckReport& report, const CheckEnvironment& env, const std::string& what,
                   X509* cert) {
  const ASN1_TIME* not_after = X509_get0_notAfter(cert);
  std::optional<int> days = daysUntil(not_after, env.now);
  if (!days) {
    report.fail(what, "cannot read its expiry date");
  } else if (*days < 0) {
    report.fail(what, "expired on " + dateOf(not_after) +
                          ": clients refuse it; install a new certificate (or remove both files "
                          "of a self-signed one, and start makes a new one)");
  } else if (*days < kWarnDays) {
    report.warn(what,
                "expires on " + dateOf(not_after) + ", in " + std::to_string(*days) + " days");
  } else {
    std::optional<int> started = daysUntil(X509_get0_notBefore(cert), env.now);
    if (started && *started > 0) {
      report.warn(what, "not valid before " + dateOf(X509_get0_notBefore(cert)));
    } else {
      report.ok(what + " (valid until " + dateOf(not_after) + ")");
    }
  }
}

}  // namespace

void checkTls(CheckReport& report, const CheckEnvironment& env, const std::string& cert,
              const std::string& key, const std::string& default_dir) {
  std::string cert_path = cert, key_path = key;
  if (cert.empty() != key.empty()) {
    report.fail("TLS",
                "tls_cert and tls_key go together: set both, or neither for a "
                "self-signed certificate");
    return;
  }
  if (cert.empty()) {
    cert_path = default_dir + "/cert.pem";
    key_path = default_dir + "/key.pem";
    std::error_code ec;
    if (!std::filesystem::exists(cert_path, ec) && !std::filesystem::exists(key_path, ec)) {
      report.ok("TLS: no certificate configured; start creates a self-signed one in " +
                default_dir + " and prints its fingerprint");
      return;
    }
  }
  const std::string what = "TLS certificate " + cert_path;
  Result<std::string> cert_pem = common::readFile(cert_path);
  Result<std::string> key_pem = common::readFile(key_path);
  if (!cert_pem.ok()) return report.fail(what, cert_pem.status().message());
  if (!key_pem.ok()) return report.fail("TLS key " + key_path, key_pem.status().message());
  auto x509 = parseCertificate(*cert_pem);
  if (!x509) return report.fail(what, "holds no PEM certificate");
  auto pkey = parseKey(*key_pem);
  if (!pkey) return report.fail("TLS key " + key_path, "holds no PEM private key");
  if (X509_check_private_key(x509.get(), pkey.get()) != 1) {
    return report.fail("TLS key " + key_path, "does not match the certificate " + cert_path);
  }
  std::error_code ec;
  auto perms = std::filesystem::status(key_path, ec).permissions();
  if (!ec && (perms & std::filesystem::perms::others_read) != std::filesystem::perms::none) {
    report.warn("TLS key " + key_path, "is readable by everyone (chmod 0600, or 0640 for a group)");
  } else {
    report.ok("TLS key " + key_path + " matches the certificate");
  }
  checkValidity(report, env, what, x509.get());
}

}  // namespace aifed::coordinator
