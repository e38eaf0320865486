#include "protocol/federation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace aifed {
namespace {

using ::testing::HasSubstr;

std::string sourcePath(const std::string& rel) {
  return std::string(AIFED_SOURCE_DIR) + "/" + rel;
}

TEST(Federation, LoadsTheSevenAiFactories) {
  Result<Federation> fed = loadFederationFile(sourcePath("config/federation-7.toml"));
  ASSERT_TRUE(fed.ok()) << fed.status().toString();
  EXPECT_EQ(fed->name, "EuroHPC AI Factories");
  EXPECT_EQ(fed->default_bandwidth_gbps, 20);
  ASSERT_EQ(fed->sites.size(), 7u);
  std::vector<std::string> ids;
  for (const SiteConfig& s : fed->sites) ids.push_back(s.id);
  EXPECT_THAT(ids, ::testing::ElementsAre("lumi-aif", "mimer", "bsc-aif", "it4lia", "hammerhai",
                                          "meluxina-ai", "pharos"));

  const SiteConfig* mimer = fed->findSite("mimer");
  ASSERT_NE(mimer, nullptr);
  EXPECT_EQ(mimer->country, "SE");
  EXPECT_EQ(mimer->city, "Linköping");
  EXPECT_DOUBLE_EQ(mimer->pue, 1.10);
  EXPECT_DOUBLE_EQ(mimer->energy_price_eur_mwh, 50);
  ASSERT_EQ(mimer->partitions.size(), 1u);
  EXPECT_EQ(mimer->partitions[0].name, "gpu");
  EXPECT_EQ(mimer->partitions[0].nodes, 128);
  EXPECT_EQ(
      mimer->partitions[0].node_type,
      (NodeType{
          .accelerator = "h200", .accelerators_per_node = 8, .cores = 112, .memory_gib = 2048}));
  EXPECT_EQ(fed->findSite("nowhere"), nullptr);

  EXPECT_EQ(fed->datasets.size(), 4u);
  EXPECT_EQ(fed->datasets[0].id, "era5-reanalysis");
  EXPECT_EQ(fed->datasets[0].site, "it4lia");
  EXPECT_DOUBLE_EQ(fed->datasets[0].size_gb, 250000);

  EXPECT_DOUBLE_EQ(fed->bandwidthGbps("lumi-aif", "mimer"), 100);
  EXPECT_DOUBLE_EQ(fed->bandwidthGbps("mimer", "lumi-aif"), 100);
  EXPECT_DOUBLE_EQ(fed->bandwidthGbps("lumi-aif", "pharos"), 10);
  EXPECT_DOUBLE_EQ(fed->bandwidthGbps("mimer", "pharos"), 20);
  EXPECT_TRUE(std::isinf(fed->bandwidthGbps("mimer", "mimer")));

  ASSERT_EQ(fed->projects.size(), 4u);
  const ProjectConfig* nordic = fed->findProject("nordic-llm");
  ASSERT_NE(nordic, nullptr);
  EXPECT_EQ(nordic->country, "SE");
  EXPECT_EQ(nordic->allocations.at("mimer"), 2000000);
  EXPECT_EQ(nordic->allocations.at("lumi-aif"), 3000000);
  EXPECT_THAT(nordic->allowed_countries, ::testing::ElementsAre("SE", "FI", "NO", "DK"));
  EXPECT_TRUE(fed->findProject("climate-ai")->allowed_countries.empty());
  EXPECT_EQ(fed->findProject("nope"), nullptr);

  EXPECT_TRUE(fed->offersAccelerator("h200"));
  EXPECT_TRUE(fed->offersAccelerator("mi250x"));
  EXPECT_FALSE(fed->offersAccelerator("b200"));
  EXPECT_FALSE(fed->offersAccelerator(""));
}

TEST(Federation, LoadsTheTestFederation) {
  Result<Federation> fed = loadFederationFile(sourcePath("tests/data/federation-3.toml"));
  ASSERT_TRUE(fed.ok()) << fed.status().toString();
  ASSERT_EQ(fed->sites.size(), 3u);
  EXPECT_EQ(fed->sites[2].id, "site-c");
  EXPECT_EQ(fed->sites[2].host, "");
  EXPECT_EQ(fed->sites[2].partitions[0].node_type.memory_gib, 256);
  EXPECT_DOUBLE_EQ(fed->bandwidthGbps("site-a", "site-b"), 10);
  EXPECT_TRUE(fed->projects.empty());
}

TEST(Federation, MissingFileIsNotFound) {
  Result<Federation> fed = loadFederationFile(sourcePath("no/such/file.toml"));
  ASSERT_FALSE(fed.ok());
  EXPECT_EQ(fed.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(fed.status().message(), HasSubstr("no/such/file.toml"));
}

// A valid base; each error case appends or edits a little. Line numbers matter: keep
// this text stable.
constexpr const char* kBase = R"([federation]
name = "t"

[[site]]
id = "a"
name = "A"
country = "FI"
  [[site.partition]]
  name = "gpu"
  nodes = 4
  accelerator = "h100"
  accelerators_per_node = 4
  cores_per_node = 64
  memory_gib = 512
)";  // 14 lines

std::string siteB(const std::string& partition_extra = "", const std::string& nodes = "2",
                  const std::string& id = "b", const std::string& country = "SE") {
  return "\n[[site]]\nid = \"" + id + "\"\nname = \"B\"\ncountry = \"" + country +
         "\"\n  [[site.partition]]\n  name = \"cpu\"\n  nodes = " + nodes +
         "\n  cores_per_node = 128\n  memory_gib = 256\n" + partition_extra;
}

TEST(Federation, ParsesTheBase) {
  Result<Federation> fed = parseFederation(std::string(kBase) + siteB(), "t.toml");
  ASSERT_TRUE(fed.ok()) << fed.status().toString();
  EXPECT_EQ(fed->sites.size(), 2u);
  EXPECT_EQ(fed->default_bandwidth_gbps, 10);  // the default when not given
  EXPECT_EQ(fed->sites[1].partitions[0].node_type.accelerator, "");
}

TEST(Federation, ADataSetMayBeHeldAtSeveralSites) {
  Result<Federation> fed = parseFederation(
      std::string(kBase) + siteB() + "\n[[dataset]]\nid = \"d\"\nsite = \"a\"\nsize_gb = 5\n" +
          "\n[[dataset]]\nid = \"d\"\nsite = \"b\"\nsize_gb = 5\n",
      "t.toml");
  ASSERT_TRUE(fed.ok()) << fed.status().toString();
  ASSERT_EQ(fed->datasets.size(), 2u);
  EXPECT_EQ(fed->datasets[0].site, "a");
  EXPECT_EQ(fed->datasets[1].site, "b");
}

struct FedErrorCase {
  const char* what;
  std::string text;
  std::string expected;  // the message starts with this
  std::string field;
};

class FederationRejects : public ::testing::TestWithParam<FedErrorCase> {};

TEST_P(FederationRejects, NamingSourceLineAndKey) {
  Result<Federation> fed = parseFederation(GetParam().text, "federation-t.toml");
  ASSERT_FALSE(fed.ok()) << GetParam().what;
  EXPECT_EQ(fed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(fed.status().message(), ::testing::StartsWith(GetParam().expected))
      << GetParam().what;
  EXPECT_EQ(fed.status().field(), GetParam().field) << GetParam().what;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FederationRejects,
    ::testing::Values(
        // siteB starts at line 16 ("[[site]]"); its partition's nodes is on line 22.
        FedErrorCase{"zero nodes", std::string(kBase) + siteB("", "0"),
                     "federation-t.toml:22: site[1].partition[0].nodes: must be positive",
                     "site[1].partition[0].nodes"},
        FedErrorCase{"negative nodes", std::string(kBase) + siteB("", "-3"),
                     "federation-t.toml:22: site[1].partition[0].nodes: must be positive",
                     "site[1].partition[0].nodes"},
        FedErrorCase{"duplicate site id", std::string(kBase) + siteB("", "2", "a"),
                     "federation-t.toml:17: site[1].id: duplicate site id \"a\"", "site[1].id"},
        FedErrorCase{"bad site id", std::string(kBase) + siteB("", "2", "Site_B"),
                     "federation-t.toml:17: site[1].id:", "site[1].id"},
        FedErrorCase{"bad country", std::string(kBase) + siteB("", "2", "b", "Sweden"),
                     "federation-t.toml:19: site[1].country:", "site[1].country"},
        FedErrorCase{
            "upper-case accelerator",
            std::string(kBase) + siteB("  accelerator = \"H100\"\n  accelerators_per_node = 1\n"),
            "federation-t.toml:25: site[1].partition[0].accelerator:",
            "site[1].partition[0].accelerator"},
        FedErrorCase{"nodes not an integer", std::string(kBase) + siteB("", "\"many\""),
                     "federation-t.toml:22: site[1].partition[0].nodes: must be an integer, got "
                     "a string",
                     "site[1].partition[0].nodes"},
        FedErrorCase{"nodes out of range", std::string(kBase) + siteB("", "3000000000"),
                     "federation-t.toml:22: site[1].partition[0].nodes: must be an integer "
                     "within -2147483648..2147483647, got 3000000000",
                     "site[1].partition[0].nodes"},
        // Unknown keys are errors (the file format is strict), with the nearest known key.
        FedErrorCase{"misspelt key", std::string(kBase) + siteB("  memory_gb = 3\n"),
                     "federation-t.toml:25: site[1].partition[0].memory_gb: unknown key (did "
                     "you mean \"memory_gib\"?)",
                     "site[1].partition[0].memory_gb"},
        FedErrorCase{"unknown table", std::string(kBase) + "\n[[sites]]\nid = \"x\"\n",
                     "federation-t.toml:16: sites: unknown key (did you mean \"site\"?)", "sites"},
        FedErrorCase{
            "a list given as a string",
            std::string(kBase) +
                "\n[[project]]\nid = \"p\"\ncountry = \"FI\"\nallowed_countries = \"FI\"\n",
            "federation-t.toml:19: project[0].allowed_countries: must be an array of "
            "strings, got a string",
            "project[0].allowed_countries"},
        FedErrorCase{"dataset at unknown site",
                     std::string(kBase) + "\n[[dataset]]\nid = \"d\"\nsite = \"zz\"\nsize_gb = 1\n",
                     "federation-t.toml:18: dataset[0].site: unknown site \"zz\"",
                     "dataset[0].site"},
        FedErrorCase{"dataset listed twice at one site",
                     std::string(kBase) + "\n[[dataset]]\nid = \"d\"\nsite = \"a\"\nsize_gb = 1\n" +
                         "\n[[dataset]]\nid = \"d\"\nsite = \"a\"\nsize_gb = 1\n",
                     "federation-t.toml:23: dataset[1].site: dataset \"d\" is already listed at "
                     "site \"a\"",
                     "dataset[1].site"},
        FedErrorCase{"replicas of different sizes",
                     std::string(kBase) + siteB() +
                         "\n[[dataset]]\nid = \"d\"\nsite = \"a\"\nsize_gb = 1\n" +
                         "\n[[dataset]]\nid = \"d\"\nsite = \"b\"\nsize_gb = 2\n",
                     "federation-t.toml:34: dataset[1].size_gb: a replica of dataset \"d\" must "
                     "have the same size (1 GB elsewhere)",
                     "dataset[1].size_gb"},
        FedErrorCase{
            "link to unknown site",
            std::string(kBase) + "\n[[link]]\nbetween = [\"a\", \"zz\"]\nbandwidth_gbps = 5\n",
            "federation-t.toml:17: link[0].between: unknown site \"zz\"", "link[0].between"},
        FedErrorCase{
            "allocation at unknown site",
            std::string(kBase) +
                "\n[[project]]\nid = \"p\"\ncountry = \"FI\"\nallocations = { a = 1, zz = 2 }\n",
            "federation-t.toml:19: project[0].allocations.zz: unknown site \"zz\"",
            "project[0].allocations.zz"},
        FedErrorCase{"missing partition nodes",
                     "[federation]\nname = \"t\"\n[[site]]\nid = \"a\"\ncountry = \"FI\"\n"
                     "  [[site.partition]]\n  name = \"gpu\"\n  cores_per_node = 1\n"
                     "  memory_gib = 1\n",
                     "federation-t.toml:6: site[0].partition[0].nodes: is required",
                     "site[0].partition[0].nodes"},
        FedErrorCase{"not TOML", std::string(kBase) + "\nthis is = = wrong\n",
                     "federation-t.toml:16:", ""}));

}  // namespace
}  // namespace aifed
