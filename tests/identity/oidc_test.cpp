// OpenID Connect tokens (coordinator/identity/oidc.h) and JWKS files (jwks.h): tokens
// signed here with OpenSSL by keys made here (test_issuer.h), checked by the verifier
// against a JWKS file on disk, at instants the test sets.
#include "coordinator/identity/oidc.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "common/files.h"
#include "tests/common/status_matchers.h"
#include "tests/identity/test_issuer.h"

namespace aifed::identity {
namespace {
namespace json = boost::json;
using ::testing::HasSubstr;
using testing_support::TestIssuer;
using testing_support::TestKey;

constexpr int64_t kNow = 1'800'000'000;  // seconds since the epoch
constexpr std::string_view kIssuer = "https://login.example.eu/realms/aifed";

class OidcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "aifed-oidc-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    jwks_path_ = (dir_ / "jwks.json").string();
    writeJwks({&rsa_, &ec_});
    OidcIssuer issuer;
    issuer.issuer = kIssuer;
    issuer.audience = "aifed";
    issuer.jwks_file = jwks_path_;
    issuer.roles = {{"aifed-admins", Role::kAdmin},
                    {"aifed-portals", Role::kPortal},
                    {"aifed-users", Role::kSubmitter}};
    OidcConfig config;
    config.issuers = {issuer};
    config.leeway = std::chrono::seconds(30);
    verifier_ = std::make_unique<OidcVerifier>(config, files_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Replaces the file the way an operator's copy job would: a new file renamed over it.
  void writeJwks(const std::vector<const TestKey*>& keys) {
    ASSERT_THAT(common::writeFileAtomically(jwks_path_, TestIssuer::jwks(keys)), IsOk());
  }
  static json::object claims() {
    return json::object{{"iss", kIssuer},
                        {"sub", "0b5e-77"},
                        {"aud", "aifed"},
                        {"exp", kNow + 300},
                        {"nbf", kNow - 10},
                        {"preferred_username", "alice"},
                        {"groups", json::array{"staff", "aifed-users"}},
                        {"aifed_projects", json::array{"p1", "p2"}}};
  }
  static json::object with(json::object c, std::string_view key, json::value v) {
    c[key] = std::move(v);
    return c;
  }
  Result<OidcIdentity> verify(const std::string& token, int64_t at = kNow) {
    return verifier_->verify(token, fromMillis(at * 1000));
  }

  std::filesystem::path dir_;
  std::string jwks_path_;
  TestKey rsa_ = TestKey::rsa("rsa-1");
  TestKey ec_ = TestKey::ec("ec-1");
  FileReaderImpl files_;
  std::unique_ptr<OidcVerifier> verifier_;
};

TEST_F(OidcTest, Rs256AndEs256TokensAreAcceptedWithTheirUserRoleAndProjects) {
  for (const TestKey* key : {&rsa_, &ec_}) {
    Result<OidcIdentity> id = verify(TestIssuer::sign(*key, claims()));
    ASSERT_THAT(id, IsOk()) << key->alg();
    EXPECT_EQ(id->user, "alice");
    EXPECT_EQ(id->subject, "0b5e-77");
    EXPECT_EQ(id->issuer, kIssuer);
    EXPECT_EQ(id->role, Role::kSubmitter);
    EXPECT_EQ(id->scope, (std::vector<std::string>{"p1", "p2"}));
    EXPECT_EQ(toMillis(id->expires_at), (kNow + 300) * 1000);
  }
}

TEST_F(OidcTest, TheFirstRoleRuleTheClaimHoldsWinsAndAnAudienceListIsAccepted) {
  json::object c = with(claims(), "groups", json::array{"aifed-users", "aifed-admins"});
  c["aud"] = json::array{"account", "aifed"};
  Result<OidcIdentity> id = verify(TestIssuer::sign(rsa_, c));
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(id->role, Role::kAdmin);  // "aifed-admins" is the first rule
  EXPECT_TRUE(id->scope.empty());
}

// Each refusal is kUnauthenticated with its own message and field.
TEST_F(OidcTest, EachFailureIsItsOwnError) {
  struct Case {
    std::string name;
    std::string token;
    int64_t at;
    std::string message;
    std::string field;
  };
  TestKey stranger = TestKey::rsa("rsa-1");  // the right kid, another key
  std::vector<Case> cases = {
      // exp + 30 s leeway = kNow + 330 < kNow + 331.
      {"expired", TestIssuer::sign(rsa_, claims()), kNow + 331, "token expired: exp ", "token.exp"},
      {"nbf ahead", TestIssuer::sign(rsa_, with(claims(), "nbf", kNow + 31)), kNow,
       "token not yet valid: nbf ", "token.nbf"},
      {"wrong issuer", TestIssuer::sign(rsa_, with(claims(), "iss", "https://evil.example")), kNow,
       "wrong issuer: \"https://evil.example\"", "token.iss"},
      {"wrong audience", TestIssuer::sign(rsa_, with(claims(), "aud", "other-app")), kNow,
       "wrong audience: the token is for [other-app], not \"aifed\"", "token.aud"},
      {"wrongly signed", TestIssuer::sign(stranger, claims()), kNow, "bad signature: ",
       "token.signature"},
      {"unknown kid", TestIssuer::sign(rsa_, claims(), {{"kid", "rsa-9"}}), kNow,
       "unknown key id: \"rsa-9\"", "token.kid"},
      {"unmapped role", TestIssuer::sign(rsa_, with(claims(), "groups", json::array{"staff"})),
       kNow, "unmapped role: ", "token.groups"},
      {"no user", TestIssuer::sign(rsa_, with(claims(), "preferred_username", "a b")), kNow,
       "no user: ", "token.preferred_username"},
      {"no projects", TestIssuer::sign(rsa_, with(claims(), "aifed_projects", json::array{})), kNow,
       "bad scope: ", "token.aifed_projects"},
      {"alg none", TestIssuer::sign(rsa_, claims(), {{"alg", "none"}}), kNow,
       "unsupported algorithm: \"none\"", "token.alg"},
      // The RSA key's PEM must never become an HMAC secret.
      {"HS256 confusion", TestIssuer::sign(rsa_, claims(), {{"alg", "HS256"}}), kNow,
       "unsupported algorithm: \"HS256\"", "token.alg"},
      // An EC key cannot verify an RS256 token, whatever the signature.
      {"alg of another key type", TestIssuer::sign(rsa_, claims(), {{"kid", "ec-1"}}), kNow,
       "bad signature: key \"ec-1\" (EC P-256) cannot verify RS256", "token.signature"},
      {"not JSON", "eyJhbGciOi.e30.c2ln", kNow, "malformed token: ", "token"},
  };
  for (const Case& c : cases) {
    Result<OidcIdentity> id = verify(c.token, c.at);
    ASSERT_FALSE(id.ok()) << c.name;
    EXPECT_EQ(id.status().code(), StatusCode::kUnauthenticated) << c.name;
    EXPECT_THAT(id.status().message(), ::testing::StartsWith(c.message)) << c.name;
    EXPECT_EQ(id.status().field(), c.field) << c.name;
  }
  // The edges of the leeway are inside it.
  EXPECT_THAT(verify(TestIssuer::sign(rsa_, claims()), kNow + 330), IsOk());
  EXPECT_THAT(verify(TestIssuer::sign(rsa_, with(claims(), "nbf", kNow + 30))), IsOk());
}

TEST_F(OidcTest, ATamperedPayloadFailsTheSignature) {
  std::string token = TestIssuer::sign(ec_, claims());
  std::string other = TestIssuer::sign(ec_, with(claims(), "preferred_username", "root"));
  // alice's signature on root's claims.
  std::string forged = other.substr(0, other.rfind('.')) + token.substr(token.rfind('.'));
  EXPECT_THAT(verify(forged), StatusIs(StatusCode::kUnauthenticated, HasSubstr("bad signature")));
}

TEST_F(OidcTest, TheJwksFileIsReReadWhenItChanges) {
  TestKey next = TestKey::ec("ec-2");
  ASSERT_THAT(verify(TestIssuer::sign(rsa_, claims())), IsOk());
  EXPECT_THAT(verify(TestIssuer::sign(next, claims())),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("unknown key id: \"ec-2\"")));
  // Key rotation: ec-2 is added, rsa-1 removed.
  writeJwks({&ec_, &next});
  EXPECT_THAT(verify(TestIssuer::sign(next, claims())), IsOk());
  EXPECT_THAT(verify(TestIssuer::sign(rsa_, claims())),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("unknown key id: \"rsa-1\"")));
  EXPECT_THAT(verify(TestIssuer::sign(ec_, claims())), IsOk());
}

// The file's version is read on every token; its content only when the version moved.
TEST(JwksFileTest, ReadsOnlyWhenTheVersionChangesAndKeepsTheLastGoodKeys) {
  class Files final : public FileReader {
   public:
    Result<FileVersion> stat(const std::string&) override { return version; }
    Result<std::string> read(const std::string&) override {
      ++reads;
      return content;
    }
    FileVersion version{1, 10, 7};
    std::string content;
    int reads = 0;
  } files;
  TestKey a = TestKey::rsa("a"), b = TestKey::ec("b");
  files.content = TestIssuer::jwks({&a});
  JwksFile jwks("/etc/aifed/jwks.json", files);
  ASSERT_THAT(jwks.keys(), IsOk());
  ASSERT_THAT(jwks.keys(), IsOk());
  EXPECT_EQ(files.reads, 1);
  // Each of mtime, size and inode alone makes it read again.
  for (FileVersion v : {FileVersion{2, 10, 7}, FileVersion{2, 11, 7}, FileVersion{2, 11, 8}}) {
    files.version = v;
    files.content = TestIssuer::jwks({&a, &b});
    ASSERT_THAT(jwks.keys(), IsOk());
  }
  EXPECT_EQ(files.reads, 4);
  EXPECT_EQ(jwks.keys()->size(), 2u);
  // A half-written file keeps the keys loaded before, and is tried again next time.
  files.version = {3, 5, 8};
  files.content = "{\"keys\": [";
  Result<std::vector<JsonWebKey>> kept = jwks.keys();
  ASSERT_THAT(kept, IsOk());
  EXPECT_EQ(kept->size(), 2u);
  files.content = TestIssuer::jwks({&b});
  EXPECT_EQ(jwks.keys()->size(), 1u);
  EXPECT_EQ(jwks.loads(), 5);
}

TEST(JwksFileTest, AMissingFileWithNoKeysLoadedIsUnavailable) {
  FileReaderImpl files;
  JwksFile jwks("/nonexistent/aifed/jwks.json", files);
  EXPECT_THAT(jwks.keys(),
              StatusIs(StatusCode::kUnavailable, HasSubstr("/nonexistent/aifed/jwks.json")));
}

TEST(JwksTest, MalformedKeysAreNamedAndForeignOnesSkipped) {
  EXPECT_THAT(parseJwks("[]"), StatusIs(StatusCode::kInvalidArgument, HasSubstr("\"keys\"")));
  EXPECT_THAT(parseJwks(R"({"keys":[{"kty":"RSA","kid":"x","n":"AQAB"}]})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("key 0 (kid \"x\"): \"e\"")));
  EXPECT_THAT(parseJwks(R"({"keys":[{"kty":"EC","kid":"y","crv":"P-256","x":"AQAB","y":"AQAB"}]})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("32 bytes")));
  Result<std::vector<JsonWebKey>> skipped =
      parseJwks(R"({"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"RSA","use":"enc"}]})");
  ASSERT_THAT(skipped, IsOk());
  EXPECT_TRUE(skipped->empty());
}

TEST(JwtShapeTest, OnlyThreeBase64UrlPartsLookLikeAJwt) {
  EXPECT_TRUE(OidcVerifier::looksLikeJwt("eyJh.eyJz.c2ln"));
  EXPECT_TRUE(OidcVerifier::looksLikeJwt("eyJh.eyJz."));  // alg none: refused later, by name
  EXPECT_FALSE(OidcVerifier::looksLikeJwt("aifed_0123456789ab_secret"));
  EXPECT_FALSE(OidcVerifier::looksLikeJwt("a.b"));
  EXPECT_FALSE(OidcVerifier::looksLikeJwt("a.b.c.d"));
  EXPECT_FALSE(OidcVerifier::looksLikeJwt(".b.c"));
  EXPECT_FALSE(OidcVerifier::looksLikeJwt("a+.b.c"));
}

}  // namespace
}  // namespace aifed::identity
