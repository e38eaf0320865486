// Broker::updateFederation: sites added, removed and changed while the broker runs (a
// reload of the federation file). The broker's Debug checks run after every call, so a
// part left holding an old site index fails where it happens.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "coordinator/broker/broker.h"

namespace aifed::broker {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

SiteConfig site(const std::string& id, int nodes) {
  SiteConfig s;
  s.id = id;
  s.name = id;
  s.country = "FI";
  PartitionConfig p;
  p.name = "gpu";
  p.nodes = nodes;
  p.node_type = NodeType{"h100", 4, 64, 512};
  s.partitions.push_back(p);
  return s;
}

Federation federationOf(std::vector<SiteConfig> sites) {
  Federation f;
  f.name = "test";
  f.sites = std::move(sites);
  return f;
}

JobSpec gpuJob(int nodes) {
  JobSpec s;
  s.name = "train";
  s.project = "demo";
  s.nodes = nodes;
  s.gpus_per_node = 4;
  s.gpu_type = "h100";
  s.walltime = std::chrono::hours(1);
  return s;
}

class FederationUpdateTest : public ::testing::Test {
 protected:
  FederationUpdateTest()
      : broker_(federationOf({site("site-a", 4), site("site-b", 4), site("site-c", 4)}),
                config()) {}

  static BrokerConfig config() {
    BrokerConfig c;
    c.heartbeat_interval = seconds(1);
    c.lost_lease = seconds(30);
    return c;
  }
  Time at(int64_t s) { return fromMillis(1'800'000'000'000 + s * 1000); }

  Effects send(const std::string& id, Body body, Time now) {
    Effects fx;
    broker_.onMessage(*broker_.siteIndex(id),
                      makeMessage(id, "m-" + std::to_string(++msg_), now, std::move(body)), now,
                      fx);
    broker_.tick(now, fx);
    return fx;
  }
  void bringUp(const std::string& id, int idle, Time now) {
    send(id, Hello{"test", "simulated", {}}, now);
    PartitionCapacity p;
    p.name = "gpu";
    p.node_type = NodeType{"h100", 4, 64, 512};
    p.nodes_total = 4;
    p.nodes_idle = idle;
    p.nodes_allocated = 4 - idle;
    Capacity c;
    c.capacity.epoch = ++epochs_[id];
    c.capacity.partitions = {p};
    send(id, c, now);
  }
  // Submits and ticks; the job's record after the tick.
  const JobRecord& submit(int nodes, Time now) {
    Effects fx;
    Result<std::string> id = broker_.enqueue(gpuJob(nodes), now, fx);
    EXPECT_TRUE(id.ok()) << id.status().toString();
    broker_.tick(now, fx);
    return *broker_.findJob(*id);
  }
  Status update(std::vector<SiteConfig> sites, Time now, Effects* out = nullptr) {
    Effects fx;
    Status s = broker_.updateFederation(federationOf(std::move(sites)), now, fx);
    if (out) *out = fx;
    return s;
  }
  void accept(const JobRecord& j, Time now) {
    send(j.site, DispatchAck{j.id, j.attempt, true, "", "local-" + j.id}, now);
  }
  void end(const JobRecord& j, Time now) {
    send(j.site,
         JobStatus{j.id, j.attempt, "local-" + j.id, JobState::kCompleted, std::nullopt,
                   std::nullopt, now, 0, "", 0, 0},
         now);
  }

  Broker broker_;
  int msg_ = 0;
  std::map<std::string, uint64_t> epochs_;
};

TEST_F(FederationUpdateTest, AnAddedSiteTakesWorkOnceItsAgentReports) {
  bringUp("site-a", 4, at(0));
  Effects drained;  // site-a takes nothing, site-b and site-c never reported: the job waits
  ASSERT_TRUE(broker_.setDrained("site-a", true, at(0), drained).ok());
  const JobRecord& waiting = submit(2, at(1));
  ASSERT_EQ(waiting.state, JobState::kQueued);

  Effects fx;
  ASSERT_TRUE(update({site("site-a", 4), site("site-b", 4), site("site-c", 4), site("site-d", 4)},
                     at(2), &fx)
                  .ok());
  ASSERT_EQ(fx.sites.size(), 1u);  // the new site's record, to be stored
  EXPECT_EQ(fx.sites[0].id, "site-d");
  EXPECT_EQ(broker_.findSite("site-d")->state, SiteState::kUnknown);
  Effects tick;
  broker_.tick(at(3), tick);
  EXPECT_EQ(broker_.findJob(waiting.id)->state, JobState::kQueued);  // not before it reports

  bringUp("site-d", 4, at(4));
  EXPECT_EQ(broker_.findJob(waiting.id)->state, JobState::kDispatched);
  EXPECT_EQ(broker_.findJob(waiting.id)->site, "site-d");
}

TEST_F(FederationUpdateTest, RemovingASiteThatHoldsJobsIsRefusedNamingThem) {
  bringUp("site-b", 4, at(0));
  const JobRecord& held = submit(1, at(1));
  ASSERT_EQ(held.site, "site-b");
  ASSERT_EQ(held.state, JobState::kDispatched);  // dispatched counts: the site may run it

  Status s = update({site("site-a", 4), site("site-c", 4)}, at(2));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("site site-b still holds active jobs (" + held.id + ")"));
  EXPECT_EQ(broker_.sites().size(), 3u);  // nothing changed
  EXPECT_TRUE(broker_.hasSession("site-b"));
  EXPECT_THAT(broker_.activeJobsAt("site-b", 5), ::testing::ElementsAre(held.id));
}

TEST_F(FederationUpdateTest, RemovingTheOnlySiteAQueuedJobAllowsIsRefusedNamingIt) {
  // site-b is not up, so a job that allows only site-b waits in the queue.
  JobSpec only_b = gpuJob(1);
  only_b.allowed_sites = {"site-b"};
  Effects fx;
  Result<std::string> id = broker_.enqueue(only_b, at(0), fx);
  ASSERT_TRUE(id.ok()) << id.status().toString();
  broker_.tick(at(0), fx);
  ASSERT_EQ(broker_.findJob(*id)->state, JobState::kQueued);

  Status s = update({site("site-a", 4), site("site-c", 4)}, at(1));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("queued jobs (" + *id + ") may run only at sites"));
  EXPECT_EQ(broker_.sites().size(), 3u);  // nothing changed
  // Once the job is cancelled, the removal goes through.
  Effects cancelled;
  ASSERT_TRUE(broker_.cancel(*id, at(2), cancelled).ok());
  EXPECT_TRUE(update({site("site-a", 4), site("site-c", 4)}, at(2)).ok());
}

TEST_F(FederationUpdateTest, ARemovedSiteIsNeverPlacedOnAndItsJobsStayReadable) {
  bringUp("site-a", 4, at(0));
  bringUp("site-b", 4, at(0));
  Effects drained;
  ASSERT_TRUE(broker_.setDrained("site-a", true, at(0), drained).ok());
  const JobRecord& done = submit(1, at(1));
  ASSERT_EQ(done.site, "site-b");
  accept(done, at(1));
  end(done, at(1));
  ASSERT_EQ(broker_.findJob(done.id)->state, JobState::kCompleted);
  ASSERT_TRUE(broker_.setDrained("site-a", false, at(2), drained).ok());

  // Within the liveness intervals: site-a, heard at 0, is still up at 2.
  ASSERT_TRUE(update({site("site-a", 4), site("site-c", 4)}, at(2)).ok());
  EXPECT_EQ(broker_.findSite("site-b"), nullptr);
  EXPECT_FALSE(broker_.siteIndex("site-b").has_value());
  EXPECT_EQ(broker_.findJob(done.id)->site, "site-b");  // history stays
  EXPECT_TRUE(broker_.hasSession("site-a"));            // the kept site's session
  EXPECT_EQ(broker_.findSite("site-a")->state, SiteState::kUp);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(submit(1, at(2)).site, "site-a");
}

TEST_F(FederationUpdateTest, ASiteRemovedThenAddedAgainIsTheSameSite) {
  bringUp("site-b", 4, at(0));
  const JobRecord& j = submit(1, at(1));
  accept(j, at(2));
  end(j, at(3));
  ASSERT_EQ(broker_.findSite("site-b")->jobs_placed, 1);
  ASSERT_TRUE(update({site("site-a", 4), site("site-c", 4)}, at(4)).ok());
  ASSERT_TRUE(update({site("site-a", 4), site("site-c", 4), site("site-b", 4)}, at(5)).ok());
  const SiteRecord* back = broker_.findSite("site-b");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->jobs_placed, 1);  // never destroyed
  EXPECT_EQ(back->state, SiteState::kUnknown);
  EXPECT_FALSE(broker_.hasSession("site-b"));  // its agent says HELLO again
  EXPECT_EQ(*broker_.siteIndex("site-b"), 2u);  // the file's order
}

TEST_F(FederationUpdateTest, ReservationsFollowTheSitesRenumbered) {
  bringUp("site-c", 4, at(0));
  const JobRecord& j = submit(3, at(1));
  ASSERT_EQ(j.site, "site-c");
  ASSERT_EQ(broker_.reservedNodes("site-c"), 3);
  ASSERT_TRUE(update({site("site-c", 4), site("site-a", 4)}, at(2)).ok());  // b leaves
  EXPECT_EQ(*broker_.siteIndex("site-c"), 0u);
  EXPECT_EQ(broker_.reservedNodes("site-c"), 3);
  EXPECT_EQ(broker_.reservedNodes("site-a"), 0);
  accept(j, at(3));
  EXPECT_EQ(broker_.findJob(j.id)->state, JobState::kPending);
}

TEST_F(FederationUpdateTest, AChangedSiteIsJudgedByItsNewConfiguration) {
  bringUp("site-a", 4, at(0));
  SiteConfig smaller = site("site-a", 4);
  smaller.country = "SE";
  ASSERT_TRUE(update({smaller, site("site-b", 4), site("site-c", 4)}, at(1)).ok());
  EXPECT_EQ(broker_.federation().findSite("site-a")->country, "SE");
  EXPECT_TRUE(broker_.hasSession("site-a"));
  EXPECT_EQ(submit(1, at(2)).site, "site-a");
}

TEST_F(FederationUpdateTest, TheNameMayNotChange) {
  Federation renamed = federationOf({site("site-a", 4)});
  renamed.name = "other";
  Effects fx;
  Status s = broker_.updateFederation(renamed, at(0), fx);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("the federation's name may not change"));
  EXPECT_EQ(broker_.sites().size(), 3u);
}

}  // namespace
}  // namespace aifed::broker
