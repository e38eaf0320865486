// Roles, scopes, token text and hashing, and the token directory
// (coordinator/identity/tokens.h).
#include "coordinator/identity/tokens.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "tests/common/status_matchers.h"

namespace aifed::identity {
namespace {
using ::testing::HasSubstr;

TEST(TokenTest, GeneratedTokensParseAndHashToTheStoredDigest) {
  Result<NewToken> t = generateToken();
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->id.size(), 12u);
  EXPECT_TRUE(t->text.starts_with("aifed_" + t->id + "_"));
  Result<TokenParts> parts = parseToken(t->text);
  ASSERT_TRUE(parts.ok()) << parts.status().toString();
  EXPECT_EQ(parts->id, t->id);
  EXPECT_EQ(parts->secret.size(), 43u);  // 32 bytes, unpadded base64url
  EXPECT_EQ(sha256Hex(parts->secret), t->secret_sha256);
}

TEST(TokenTest, EveryTokenIsDifferent) {
  std::set<std::string> ids, texts;
  for (int i = 0; i < 200; ++i) {
    Result<NewToken> t = generateToken();
    ASSERT_TRUE(t.ok());
    ids.insert(t->id);
    texts.insert(t->text);
  }
  EXPECT_EQ(ids.size(), 200u);
  EXPECT_EQ(texts.size(), 200u);
}

TEST(TokenTest, MalformedTokensAreUnauthenticated) {
  std::string good = generateToken()->text;
  for (std::string bad : {std::string(""), std::string("aifed_"), good.substr(1),
                          good.substr(0, good.size() - 1), good + "x",
                          "aifed_0123456789AB_" + good.substr(19),  // upper-case hex id
                          "aifed_0123456789ab-" + good.substr(19),
                          "aifed_0123456789ab_" + std::string(42, 'a') + "="}) {
    EXPECT_THAT(parseToken(bad),
                StatusIs(StatusCode::kUnauthenticated, HasSubstr("malformed token")))
        << bad;
  }
}

TEST(TokenTest, Sha256AndBase64UrlMatchKnownVectors) {
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(base64UrlEncode(""), "");
  EXPECT_EQ(base64UrlEncode("f"), "Zg");
  EXPECT_EQ(base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(base64UrlEncode("\xfb\xff"), "-_8");  // the two url-safe characters
  EXPECT_TRUE(constantTimeEqual("abc", "abc"));
  EXPECT_FALSE(constantTimeEqual("abc", "abd"));
  EXPECT_FALSE(constantTimeEqual("abc", "abcd"));
}

TEST(RoleTest, NamesRoundTrip) {
  for (Role r : {Role::kAdmin, Role::kOperator, Role::kViewer, Role::kSubmitter, Role::kSiteAdmin,
                 Role::kPortal}) {
    EXPECT_EQ(parseRole(roleName(r)), r);
  }
  EXPECT_EQ(roleName(Role::kPortal), "portal");
  EXPECT_EQ(parseRole("root"), std::nullopt);
}

TEST(RoleTest, ScopeMustFitTheRole) {
  EXPECT_THAT(checkScope(Role::kAdmin, {}), IsOk());
  EXPECT_EQ(checkScope(Role::kAdmin, {"p"}).field(), "scope");
  EXPECT_EQ(checkScope(Role::kSubmitter, {}).field(), "scope");
  EXPECT_THAT(checkScope(Role::kSubmitter, {"p1", "p2"}), IsOk());
  EXPECT_EQ(checkScope(Role::kSiteAdmin, {"a", "b"}).field(), "scope");
  EXPECT_THAT(checkScope(Role::kSiteAdmin, {"a"}), IsOk());
  EXPECT_EQ(checkScope(Role::kSubmitter, {""}).field(), "scope");
  EXPECT_EQ(checkScope(Role::kPortal, {}).field(), "scope");
  EXPECT_THAT(checkScope(Role::kPortal, {"p1"}), IsOk());
}

// A token's user is a JobSpec user name: what sites map to accounts.
TEST(RoleTest, UserNamesAreAccountNames) {
  for (const char* ok : {"alice", "a.b-c_d", "erin@example.eu", "U2"}) {
    EXPECT_THAT(checkUserName(ok), IsOk()) << ok;
  }
  for (std::string bad : {std::string(""), std::string("my ci"), std::string("a/b"),
                          std::string(129, 'u'), std::string("root;rm")}) {
    EXPECT_EQ(checkUserName(bad).field(), "user") << bad;
  }
}

TEST(TokenDirectoryTest, FindsByIdAndListsByCreationTime) {
  TokenDirectory d;
  auto record = [](std::string id, int64_t created_ms) {
    TokenRecord r;
    r.id = std::move(id);
    r.created_at = fromMillis(created_ms);
    return r;
  };
  d.put(record("00000000000b", 10));
  d.put(record("00000000000a", 20));
  d.put(record("00000000000c", 10));
  EXPECT_EQ(d.size(), 3u);
  ASSERT_NE(d.find("00000000000a"), nullptr);
  EXPECT_EQ(d.find("00000000000d"), nullptr);
  d.findMutable("00000000000a")->name = "renamed";
  EXPECT_EQ(d.find("00000000000a")->name, "renamed");
  std::vector<std::string> order;
  for (const TokenRecord& r : d.list()) order.push_back(r.id);
  // Oldest first; equal times by id.
  EXPECT_EQ(order, (std::vector<std::string>{"00000000000b", "00000000000c", "00000000000a"}));
  d.put(record("00000000000a", 5));  // put replaces
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d.list().front().id, "00000000000a");
}

}  // namespace
}  // namespace aifed::identity
