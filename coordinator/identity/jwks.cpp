#include "coordinator/identity/jwks.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <memory>

#include "common/files.h"

namespace aifed::identity {
namespace json = boost::json;
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using ParamBld = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
void freeBio(BIO* b) { BIO_free(b); }
using Bio = std::unique_ptr<BIO, Deleter<BIO, freeBio>>;

int decodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// A JWK member: a base64url string, decoded.
Result<std::string> member(const json::object& key, std::string_view name, const std::string& where) {
  const json::value* v = key.if_contains(name);
  if (!v || !v->is_string()) return invalidArgument(where + ": \"" + std::string(name) + "\" is missing");
  std::optional<std::string> bytes = base64UrlDecode(v->get_string());
  if (!bytes || bytes->empty()) {
    return invalidArgument(where + ": \"" + std::string(name) + "\" is not base64url");
  }
  return *bytes;
}

// The public key built from `params` as PEM (SubjectPublicKeyInfo).
Result<std::string> pemOf(const char* type, const OSSL_PARAM* params, const std::string& where) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) != 1) {
    return invalidArgument(where + ": its parameters do not make a public key");
  }
  Pkey key(raw);
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
    return internalError(where + ": cannot write the key as PEM");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<std::string> rsaPem(const json::object& key, const std::string& where) {
  ASSIGN_OR_RETURN(std::string n, member(key, "n", where));
  ASSIGN_OR_RETURN(std::string e, member(key, "e", where));
  auto bn = [](const std::string& b) {
    return Bignum(BN_bin2bn(reinterpret_cast<const unsigned char*>(b.data()),
                            static_cast<int>(b.size()), nullptr));
  };
  Bignum bn_n = bn(n), bn_e = bn(e);
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return internalError(where + ": out of memory building the key");
  }
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return internalError(where + ": out of memory building the key");
  return pemOf("RSA", params.get(), where);
}

Result<std::string> ecPem(const json::object& key, const std::string& crv, const std::string& where) {
  struct Curve {
    std::string_view jwk, openssl;
    size_t bytes;
  };
  static constexpr Curve kCurves[] = {
      {"P-256", "prime256v1", 32}, {"P-384", "secp384r1", 48}, {"P-521", "secp521r1", 66}};
  const Curve* curve = nullptr;
  for (const Curve& c : kCurves) {
    if (c.jwk == crv) curve = &c;
  }
  if (!curve) return invalidArgument(where + ": unsupported curve \"" + crv + "\"");
  ASSIGN_OR_RETURN(std::string x, member(key, "x", where));
  ASSIGN_OR_RETURN(std::string y, member(key, "y", where));
  if (x.size() != curve->bytes || y.size() != curve->bytes) {
    return invalidArgument(where + ": x and y must be " + std::to_string(curve->bytes) +
                           " bytes for " + crv);
  }
  std::string point = "\x04" + x + y;  // an uncompressed point (SEC 1)
  ParamBld bld(OSSL_PARAM_BLD_new());
  std::string group(curve->openssl);
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group.c_str(), 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return internalError(where + ": out of memory building the key");
  }
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return internalError(where + ": out of memory building the key");
  return pemOf("EC", params.get(), where);
}

std::string stringMember(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

std::optional<std::string> base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = decodeChar(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

Result<std::vector<JsonWebKey>> parseJwks(std::string_view text) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return invalidArgument("the JWKS is not JSON: " + ec.message());
  const json::value* keys = doc.is_object() ? doc.as_object().if_contains("keys") : nullptr;
  if (!keys || !keys->is_array()) {
    return invalidArgument("the JWKS must be an object with a \"keys\" array");
  }
  std::vector<JsonWebKey> out;
  size_t index = 0;
  for (const json::value& v : keys->as_array()) {
    std::string where = "key " + std::to_string(index++);
    if (!v.is_object()) return invalidArgument(where + " is not an object");
    const json::object& o = v.as_object();
    JsonWebKey k;
    k.kid = stringMember(o, "kid");
    k.kty = stringMember(o, "kty");
    k.crv = stringMember(o, "crv");
    k.alg = stringMember(o, "alg");
    if (!k.kid.empty()) where += " (kid \"" + k.kid + "\")";
    if (stringMember(o, "use") == "enc") continue;
    if (k.kty == "RSA") {
      ASSIGN_OR_RETURN(k.pem, rsaPem(o, where));
    } else if (k.kty == "EC") {
      ASSIGN_OR_RETURN(k.pem, ecPem(o, k.crv, where));
    } else {
      continue;  // "oct", "OKP", ...: not keys aifed verifies with
    }
    out.push_back(std::move(k));
  }
  return out;
}

// --- FileReaderImpl ---

Result<FileVersion> FileReaderImpl::stat(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    std::string why = "cannot stat " + path + ": " + std::strerror(err);
    return err == ENOENT ? notFound(why) : unavailable(why);
  }
  FileVersion v;
  v.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  v.size = static_cast<uint64_t>(st.st_size);
  v.inode = static_cast<uint64_t>(st.st_ino);
  return v;
}

Result<std::string> FileReaderImpl::read(const std::string& path) { return common::readFile(path); }

// --- JwksFile ---

Result<std::vector<JsonWebKey>> JwksFile::keys() {
  Result<FileVersion> version = files_.stat(path_);
  if (version.ok() && loaded_ && *version == *loaded_) return keys_;
  Status failure;
  if (version.ok()) {
    Result<std::string> text = files_.read(path_);
    Result<std::vector<JsonWebKey>> parsed =
        text.ok() ? parseJwks(*text) : Result<std::vector<JsonWebKey>>(text.status());
    if (parsed.ok()) {
      keys_ = std::move(*parsed);
      loaded_ = *version;
      failed_.reset();
      ++loads_;
      spdlog::info("OIDC: loaded {} key(s) from {}", keys_.size(), path_);
      return keys_;
    }
    failure = parsed.status();
  } else {
    failure = version.status();
  }
  FileVersion seen = version.ok() ? *version : FileVersion{};
  if (!failed_ || !(*failed_ == seen)) {
    failed_ = seen;
    spdlog::warn("OIDC: cannot load the JWKS file {}: {}{}", path_, failure.message(),
                 loaded_ ? " (keeping the keys loaded before)" : "");
  }
  if (loaded_) return keys_;
  return unavailable("no keys: the JWKS file " + path_ + " cannot be loaded: " + failure.message());
}

}  // namespace aifed::identity
