// Admission (coordinator/broker/admission.h): each refusal names its real cause and field.
#include "coordinator/broker/admission.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace aifed::broker {
namespace {

using ::testing::HasSubstr;

// site-a FI 16 x h100, site-b SE 8 x h100, site-c DE 32 x a100, site-d IT CPU only.
Federation federation() {
  Federation f;
  f.name = "test";
  auto site = [](std::string id, std::string country, int nodes, NodeType type) {
    SiteConfig s;
    s.id = id;
    s.name = id;
    s.country = country;
    s.partitions.push_back(PartitionConfig{"main", nodes, std::move(type)});
    return s;
  };
  f.sites = {site("site-a", "FI", 16, NodeType{"h100", 4, 64, 512}),
             site("site-b", "SE", 8, NodeType{"h100", 4, 64, 512}),
             site("site-c", "DE", 32, NodeType{"a100", 8, 128, 1024}),
             site("site-d", "IT", 64, NodeType{"", 0, 256, 512})};
  ProjectConfig nordic;
  nordic.id = "nordic";
  nordic.allowed_countries = {"SE", "FI"};
  ProjectConfig german;
  german.id = "german";
  german.allowed_countries = {"DE"};
  ProjectConfig funded;
  funded.id = "funded";
  funded.allocations = {{"site-b", 100}, {"site-c", 100}};
  f.projects = {nordic, german, funded};
  return f;
}

JobSpec job(int nodes, std::string type = "h100", std::string project = "") {
  JobSpec s;
  s.project = std::move(project);
  s.nodes = nodes;
  s.gpus_per_node = 4;
  s.gpu_type = std::move(type);
  s.walltime = std::chrono::hours(1);
  return s;
}

struct Refusal {
  const char* what;
  JobSpec spec;
  std::string field;
  std::string message;  // the whole message
};

JobSpec withCountries(JobSpec s, std::vector<std::string> c) {
  s.allowed_countries = std::move(c);
  return s;
}
JobSpec withSites(JobSpec s, std::vector<std::string> v) {
  s.allowed_sites = std::move(v);
  return s;
}

TEST(AdmissionTest, EachRefusalNamesItsCause) {
  JobSpec cpu;
  cpu.nodes = 1;
  cpu.cores_per_node = 512;
  cpu.walltime = std::chrono::hours(1);
  const std::vector<Refusal> cases = {
      {"accelerator model nobody offers", job(1, "mi300"), "gpu_type",
       "no site offers accelerator \"mi300\"; the federation offers: a100, h100"},
      {"unknown allowed site", withSites(job(1), {"site-x"}), "allowed_sites",
       "allowed site \"site-x\" is not in the federation"},
      {"allowed countries without any site", withCountries(job(1), {"NO"}), "allowed_countries",
       "no federation site is in any allowed country (NO)"},
      {"per-node size nobody has", cpu, "cores_per_node",
       "no site has nodes with 512 cores per node"},
      // The job's own countries: DE has a100 nodes only.
      {"own countries exclude the model", withCountries(job(1, "h100"), {"DE"}),
       "allowed_countries", "allowed countries DE exclude every site with h100 nodes"},
      {"own sites exclude the model", withSites(job(1, "h100"), {"site-c", "site-d"}),
       "allowed_sites", "allowed sites site-c, site-d exclude every site with h100 nodes"},
      // The project's residency: german may run only in DE, where there are no h100s.
      {"project residency excludes the model", job(1, "h100", "german"), "project",
       "project german may run only in DE, and no site there the job may use has h100 nodes"},
      // Size: nordic may use site-a (16) and site-b (8).
      {"larger than the largest allowed partition", job(20, "h100", "nordic"), "nodes",
       "the job needs 20 nodes; the largest partition it may use has 16 (site-a/main)"},
      {"own countries leave only a small partition", withCountries(job(10, "h100"), {"SE"}),
       "nodes", "the job needs 10 nodes; the largest partition it may use has 8 (site-b/main)"},
      // Allocation: funded has hours at site-b and site-c; 12 h100 nodes fit only site-a.
      {"no allocation where it fits", job(12, "h100", "funded"), "project",
       "project funded has no allocation at any site that can run the job (site-a); its "
       "allocations are at site-b, site-c"},
  };
  Federation fed = federation();
  for (const Refusal& c : cases) {
    Status s = checkAgainstFederation(c.spec, fed);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_EQ(s.field(), c.field) << c.what;
    EXPECT_EQ(s.message(), c.message) << c.what;
  }
}

TEST(AdmissionTest, AcceptsWhatSomeSiteCanRun) {
  Federation fed = federation();
  EXPECT_TRUE(checkAgainstFederation(job(16, "h100", "nordic"), fed).ok());
  EXPECT_TRUE(checkAgainstFederation(job(8, "h100", "funded"), fed).ok());   // site-b
  EXPECT_TRUE(checkAgainstFederation(job(32, "a100", "german"), fed).ok());  // site-c
  EXPECT_TRUE(checkAgainstFederation(withCountries(job(4, ""), {"DE"}), fed).ok());
  JobSpec eight = job(1, "h100");
  eight.gpus_per_node = 8;  // h100 nodes have 4
  Status s = checkAgainstFederation(eight, fed);
  EXPECT_EQ(s.field(), "gpus_per_node");
  EXPECT_EQ(s.message(), "no site has nodes with 8 x h100 per node");
}

}  // namespace
}  // namespace aifed::broker
