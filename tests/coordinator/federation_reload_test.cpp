// Reloading the federation file (coordinator/federation_reload.h): the diff, the key
// table, and refusals that name the file and leave the federation in force.
#include "coordinator/federation_reload.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/files.h"

namespace aifed::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kKeyA(40, 'a');
const std::string kKeyA2(40, 'A');
const std::string kKeyB(40, 'b');

// One [[site]] table; `extra` goes before its partition.
std::string siteToml(const std::string& id, const std::string& keys, const std::string& extra = "",
                     int nodes = 4) {
  return "\n[[site]]\nid = \"" + id + "\"\ncountry = \"FI\"\n" + keys + "\n" + extra +
         "  [[site.partition]]\n  name = \"gpu\"\n  nodes = " + std::to_string(nodes) +
         "\n  cores_per_node = 8\n  memory_gib = 16\n";
}
std::string key(const std::string& k) { return "curve_public_key = \"" + k + "\""; }
std::string keys(const std::string& a, const std::string& b) {
  return "curve_public_keys = [\"" + a + "\", \"" + b + "\"]";
}

Federation parse(const std::string& body, const std::string& name = "t") {
  Result<Federation> f = parseFederation("[federation]\nname = \"" + name + "\"\n" + body, "f");
  EXPECT_TRUE(f.ok()) << f.status().toString();
  return *f;
}

TEST(FederationDiff, SortsEachSiteIntoOneOrTwoKinds) {
  Federation before = parse(siteToml("a", key(kKeyA)) + siteToml("b", key(kKeyB)) +
                            siteToml("c", "") + siteToml("gone", ""));
  Federation after = parse(siteToml("a", keys(kKeyA, kKeyA2)) +             // re-keyed
                           siteToml("b", key(kKeyB), "city = \"Umeå\"\n") +  // changed
                           siteToml("c", "") +                               // unchanged
                           siteToml("new", "", "", 2));                      // added
  FederationDiff d = diffFederations(before, after);
  EXPECT_THAT(d.added, ElementsAre("new"));
  EXPECT_THAT(d.removed, ElementsAre("gone"));
  EXPECT_THAT(d.rekeyed, ElementsAre("a"));
  EXPECT_THAT(d.changed, ElementsAre("b"));
  EXPECT_EQ(d.unchanged, 1u);
  EXPECT_EQ(boost::json::serialize(d.toJson()),
            R"({"added":["new"],"removed":["gone"],"rekeyed":["a"],"changed":["b"],"unchanged":1})");
  EXPECT_EQ(d.summary(), "added new; removed gone; rekeyed a; changed b; unchanged 1");
}

TEST(FederationDiff, KeysInAnotherOrderAreTheSameKeys) {
  FederationDiff d = diffFederations(parse(siteToml("a", keys(kKeyA, kKeyA2))),
                                     parse(siteToml("a", keys(kKeyA2, kKeyA))));
  EXPECT_TRUE(d.rekeyed.empty());
  EXPECT_EQ(d.unchanged, 1u);
}

TEST(FederationDiff, APartitionResizedIsAChange) {
  FederationDiff d =
      diffFederations(parse(siteToml("a", "", "", 4)), parse(siteToml("a", "", "", 8)));
  EXPECT_THAT(d.changed, ElementsAre("a"));
}

TEST(FederationKeyTable, EveryKeyOfEverySite) {
  auto table = federationKeyTable(parse(siteToml("a", keys(kKeyA, kKeyA2)) +
                                        siteToml("b", key(kKeyB)) + siteToml("c", "")));
  EXPECT_EQ(table, (std::map<std::string, std::string>{
                       {kKeyA, "a"}, {kKeyA2, "a"}, {kKeyB, "b"}}));
}

class ReloadTest : public ::testing::Test {
 protected:
  ReloadTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("aifed-reload-" + std::to_string(::getpid()))),
        path_((dir_ / "federation.toml").string()),
        broker_(parse(siteToml("a", key(kKeyA)) + siteToml("b", key(kKeyB))), {}) {
    std::filesystem::create_directories(dir_);
  }
  ~ReloadTest() override { std::filesystem::remove_all(dir_); }

  Result<FederationDiff> reloadWith(const std::string& text) {
    EXPECT_TRUE(common::writeFileAtomically(path_, text).ok());
    broker::Effects fx;
    return reloadFederation(path_, broker_, Instant(Time{}), fx);
  }

  std::filesystem::path dir_;
  std::string path_;
  broker::Broker broker_;
};

TEST_F(ReloadTest, AppliesAValidFile) {
  Result<FederationDiff> d = reloadWith("[federation]\nname = \"t\"\n" +
                                        siteToml("a", keys(kKeyA, kKeyA2)) +
                                        siteToml("b", key(kKeyB)) + siteToml("c", ""));
  ASSERT_TRUE(d.ok()) << d.status().toString();
  EXPECT_THAT(d->added, ElementsAre("c"));
  EXPECT_THAT(d->rekeyed, ElementsAre("a"));
  EXPECT_EQ(broker_.sites().size(), 3u);
  EXPECT_EQ(federationKeyTable(broker_.federation()).at(kKeyA2), "a");
}

TEST_F(ReloadTest, ABrokenFileIsRefusedNamingFileAndLine) {
  // line 17: the second site's curve_public_key repeats the first site's key.
  Result<FederationDiff> d = reloadWith("[federation]\nname = \"t\"\n" + siteToml("a", key(kKeyA)) +
                                        siteToml("b", key(kKeyA)));
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), StartsWith(path_ + ":17: site[1].curve_public_key: the key"));
  EXPECT_EQ(federationKeyTable(broker_.federation()).at(kKeyB), "b");  // still in force
}

TEST_F(ReloadTest, ARenamedFederationIsRefused) {
  Result<FederationDiff> d =
      reloadWith("[federation]\nname = \"other\"\n" + siteToml("a", key(kKeyA)));
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(),
              StartsWith(path_ + ": the federation's name may not change (\"t\" to \"other\")"));
  EXPECT_EQ(broker_.sites().size(), 2u);
}

TEST_F(ReloadTest, AFileWithoutAnyKeyIsRefused) {
  Result<FederationDiff> d = reloadWith("[federation]\nname = \"t\"\n" + siteToml("a", ""));
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("no site has a curve_public_key"));
}

TEST_F(ReloadTest, AMissingFileIsRefused) {
  broker::Effects fx;
  Result<FederationDiff> d = reloadFederation(path_ + ".missing", broker_, Instant(Time{}), fx);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr(path_ + ".missing"));
  EXPECT_EQ(broker_.sites().size(), 2u);
}

}  // namespace
}  // namespace aifed::coordinator
