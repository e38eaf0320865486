// An OpenID Connect issuer for tests, written against OpenSSL alone (not libjwt, which
// the code under test uses): it makes RSA and P-256 key pairs, publishes their public
// halves as a JWKS document and signs compact JWS tokens (RS256, ES256 with the raw
// R||S signature of RFC 7518 section 3.4).
//
//   TestIssuer idp;
//   TestKey rsa = TestKey::rsa("k1"), ec = TestKey::ec("k2");
//   std::string jwks = TestIssuer::jwks({&rsa, &ec});
//   std::string token = TestIssuer::sign(rsa, {{"iss", "https://idp"}, {"sub", "u1"}});
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <boost/json.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "coordinator/identity/tokens.h"

namespace aifed::testing_support {

class TestKey {
 public:
  static TestKey rsa(std::string kid) {
    return TestKey(std::move(kid), EVP_RSA_gen(2048), "RS256");
  }
  static TestKey ec(std::string kid) {
    return TestKey(std::move(kid), EVP_EC_gen("P-256"), "ES256");
  }
  const std::string& kid() const { return kid_; }
  const std::string& alg() const { return alg_; }
  EVP_PKEY* pkey() const { return key_.get(); }

  // The public JWK of this key.
  boost::json::object jwk() const {
    boost::json::object o{{"kid", kid_}, {"use", "sig"}, {"alg", alg_}};
    if (alg_ == "RS256") {
      o["kty"] = "RSA";
      o["n"] = bnParam(OSSL_PKEY_PARAM_RSA_N, 0);
      o["e"] = bnParam(OSSL_PKEY_PARAM_RSA_E, 0);
    } else {
      o["kty"] = "EC";
      o["crv"] = "P-256";
      o["x"] = bnParam(OSSL_PKEY_PARAM_EC_PUB_X, 32);
      o["y"] = bnParam(OSSL_PKEY_PARAM_EC_PUB_Y, 32);
    }
    return o;
  }

 private:
  struct Free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  TestKey(std::string kid, EVP_PKEY* key, std::string alg)
      : kid_(std::move(kid)), key_(key, Free{}), alg_(std::move(alg)) {
    if (!key) throw std::runtime_error("key generation failed");
  }
  // A big-number parameter, base64url, left-padded to `width` bytes when given.
  std::string bnParam(const char* name, int width) const {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(key_.get(), name, &bn) != 1) throw std::runtime_error(name);
    std::string bytes(static_cast<size_t>(width ? width : BN_num_bytes(bn)), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    BN_free(bn);
    return identity::base64UrlEncode(bytes);
  }
  std::string kid_;
  std::shared_ptr<EVP_PKEY> key_;
  std::string alg_;
};

class TestIssuer {
 public:
  static std::string jwks(const std::vector<const TestKey*>& keys) {
    boost::json::array a;
    for (const TestKey* k : keys) a.push_back(k->jwk());
    return boost::json::serialize(boost::json::object{{"keys", std::move(a)}});
  }

  // A compact JWS of `claims` signed by `key`; `header_extra` is merged into the header
  // (to lie about "alg" or "kid").
  static std::string sign(const TestKey& key, const boost::json::object& claims,
                          const boost::json::object& header_extra = {}) {
    boost::json::object header{{"alg", key.alg()}, {"typ", "JWT"}, {"kid", key.kid()}};
    for (const auto& [k, v] : header_extra) header[k] = v;
    std::string input = identity::base64UrlEncode(boost::json::serialize(header)) + "." +
                        identity::base64UrlEncode(boost::json::serialize(claims));
    return input + "." + identity::base64UrlEncode(signature(key, input));
  }

 private:
  static std::string signature(const TestKey& key, const std::string& input) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    std::string sig;
    if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.pkey()) != 1 ||
        EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) != 1) {
      EVP_MD_CTX_free(ctx);
      throw std::runtime_error("sign");
    }
    sig.resize(len);
    if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      EVP_MD_CTX_free(ctx);
      throw std::runtime_error("sign");
    }
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    if (key.alg() != "ES256") return sig;
    // OpenSSL writes ECDSA signatures in DER; JWS wants R and S, 32 bytes each.
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(es);
    return raw;
  }
};

}  // namespace aifed::testing_support
