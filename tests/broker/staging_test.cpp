// The staging plan (coordinator/broker/staging.h), shared by the broker's estimate and
// the simulator's sites.
#include "coordinator/broker/staging.h"

#include <gtest/gtest.h>

namespace aifed::broker {
namespace {

// Three sites; "corpus" (800 GB) is held at a and b; a-c is a 100 Gbit/s link, b-c
// 400 Gbit/s, anything else the default 10 Gbit/s.
Federation federation() {
  Federation f;
  f.default_bandwidth_gbps = 10;
  for (const char* id : {"a", "b", "c"}) {
    SiteConfig s;
    s.id = id;
    f.sites.push_back(s);
  }
  f.datasets = {{"corpus", "a", 800}, {"corpus", "b", 800}};
  f.links = {{"a", "c", 100}, {"b", "c", 400}};
  return f;
}

JobSpec reads(std::vector<DatasetRef> refs) {
  JobSpec s;
  s.datasets = std::move(refs);
  return s;
}

TEST(StagingPlan, ADataSetHeldAtTheSiteIsNotMovedEvenWhenAnotherSiteHoldsItToo) {
  Federation f = federation();
  StagingPlan at_b = planStaging(reads({{"corpus", 0}}), "b", f);
  EXPECT_TRUE(at_b.steps.empty());
  EXPECT_EQ(at_b.seconds, 0);
  EXPECT_EQ(stagingSeconds(reads({{"corpus", 0}}), f.sites[1], f), 0);
}

TEST(StagingPlan, ItComesFromTheBestConnectedHolder) {
  Federation f = federation();
  StagingPlan at_c = planStaging(reads({{"corpus", 0}}), "c", f);
  ASSERT_EQ(at_c.steps.size(), 1u);
  EXPECT_EQ(at_c.steps[0].from_site, "b");  // 400 Gbit/s beats a's 100
  EXPECT_DOUBLE_EQ(at_c.steps[0].seconds, 800 * 8.0 / 400);
  EXPECT_DOUBLE_EQ(at_c.gigabytes, 800);
  EXPECT_DOUBLE_EQ(stagingSeconds(reads({{"corpus", 0}}), f.sites[2], f), at_c.seconds);
}

TEST(StagingPlan, UnlistedDataComesAtTheDefaultBandwidthAndSizelessDataIsFree) {
  Federation f = federation();
  // The job's own size wins over the federation's; an unlisted set of unknown size
  // costs nothing.
  StagingPlan p = planStaging(reads({{"private", 50}, {"corpus", 80}, {"unknown", 0}}), "c", f);
  ASSERT_EQ(p.steps.size(), 2u);
  EXPECT_EQ(p.steps[0].dataset, "private");
  EXPECT_EQ(p.steps[0].from_site, "");
  EXPECT_DOUBLE_EQ(p.steps[0].seconds, 50 * 8.0 / 10);
  EXPECT_DOUBLE_EQ(p.steps[1].seconds, 80 * 8.0 / 400);
  EXPECT_DOUBLE_EQ(p.seconds, 40 + 1.6);
}

}  // namespace
}  // namespace aifed::broker
