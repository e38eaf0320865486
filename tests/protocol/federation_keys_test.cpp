// The federation file's site keys: `curve_public_key` and the `curve_public_keys` list of
// a rotation's overlap (docs/security.md, "Rotating a site's key").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "protocol/federation.h"

namespace aifed {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;

const std::string kOld(40, 'o');
const std::string kNew(40, 'n');
const std::string kOther(40, 'x');

// A federation of sites "a" and "b"; `a_keys` and `b_keys` are lines in their tables
// (site "a"'s table starts on line 4, its keys are on line 7; "b"'s keys on line 17).
std::string federation(const std::string& a_keys, const std::string& b_keys = "") {
  auto site = [](const std::string& id, const std::string& keys) {
    return "\n[[site]]\nid = \"" + id + "\"\ncountry = \"FI\"\n" + keys +
           "\n  [[site.partition]]\n  name = \"cpu\"\n  nodes = 2\n  cores_per_node = 8\n"
           "  memory_gib = 16\n";
  };
  return "[federation]\nname = \"t\"\n" + site("a", a_keys) + site("b", b_keys);
}

TEST(FederationKeys, OneKeyIsTheOnlyKey) {
  Result<Federation> fed = parseFederation(federation("curve_public_key = \"" + kOld + "\""), "f");
  ASSERT_TRUE(fed.ok()) << fed.status().toString();
  EXPECT_EQ(fed->sites[0].curve_public_key, kOld);
  EXPECT_THAT(fed->sites[0].curve_public_keys, ElementsAre(kOld));
  EXPECT_TRUE(fed->sites[1].curve_public_keys.empty());  // b cannot connect
}

TEST(FederationKeys, AListAcceptsEveryKeyOfTheOverlap) {
  Result<Federation> fed = parseFederation(
      federation("curve_public_keys = [\"" + kOld + "\", \"" + kNew + "\"]"), "f");
  ASSERT_TRUE(fed.ok()) << fed.status().toString();
  EXPECT_THAT(fed->sites[0].curve_public_keys, ElementsAre(kOld, kNew));
  EXPECT_EQ(fed->sites[0].curve_public_key, kOld);  // the first, for what shows one key
}

TEST(FederationKeys, TheSingleKeyComesFirstThenTheList) {
  Result<Federation> fed = parseFederation(
      federation("curve_public_key = \"" + kNew + "\"\ncurve_public_keys = [\"" + kOld + "\"]"),
      "f");
  ASSERT_TRUE(fed.ok()) << fed.status().toString();
  EXPECT_THAT(fed->sites[0].curve_public_keys, ElementsAre(kNew, kOld));
}

struct KeyErrorCase {
  const char* what;
  std::string text;
  std::string expected;  // the message starts with this
};

class FederationKeysRejects : public ::testing::TestWithParam<KeyErrorCase> {};

TEST_P(FederationKeysRejects, NamingLineAndKey) {
  Result<Federation> fed = parseFederation(GetParam().text, "fed.toml");
  ASSERT_FALSE(fed.ok()) << GetParam().what;
  EXPECT_EQ(fed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(fed.status().message(), StartsWith(GetParam().expected)) << GetParam().what;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FederationKeysRejects,
    ::testing::Values(
        KeyErrorCase{"a listed key too short",
                     federation("curve_public_keys = [\"" + kOld + "\", \"short\"]"),
                     "fed.toml:7: site[0].curve_public_keys[1]: must be a Z85-encoded CURVE "
                     "public key (40 characters), got \"short\""},
        KeyErrorCase{"a key listed twice",
                     federation("curve_public_keys = [\"" + kOld + "\", \"" + kOld + "\"]"),
                     "fed.toml:7: site[0].curve_public_keys[1]: the key " + kOld +
                         " is listed twice for this site"},
        KeyErrorCase{"the single key listed again",
                     federation("curve_public_key = \"" + kOld + "\"\ncurve_public_keys = [\"" +
                                kOld + "\"]"),
                     "fed.toml:8: site[0].curve_public_keys[0]: the key " + kOld +
                         " is listed twice for this site"},
        KeyErrorCase{"one key at two sites",
                     federation("curve_public_keys = [\"" + kOld + "\", \"" + kNew + "\"]",
                                "curve_public_keys = [\"" + kOther + "\", \"" + kNew + "\"]"),
                     "fed.toml:17: site[1].curve_public_keys[1]: the key " + kNew +
                         " is site \"a\"'s already: a key may act for one site only"},
        KeyErrorCase{"not a list", federation("curve_public_keys = \"" + kOld + "\""),
                     "fed.toml:7: site[0].curve_public_keys: must be an array of strings"}));

}  // namespace
}  // namespace aifed
