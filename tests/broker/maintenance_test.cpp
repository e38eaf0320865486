// Maintenance windows through the broker facade (broker.h): declaring and cancelling,
// ids never reused, placement kept away inside a window, and the job lease paused from
// the window's start to its end plus grace while the site is silent.
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include "coordinator/broker/broker.h"

namespace aifed::broker {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;

Federation twoSites() {
  Federation f;
  f.name = "test";
  for (const char* id : {"site-a", "site-b"}) {
    SiteConfig s;
    s.id = s.name = id;
    s.country = "FI";
    PartitionConfig p;
    p.name = "gpu";
    p.nodes = 16;
    p.node_type = NodeType{"h100", 4, 64, 512};
    s.partitions.push_back(p);
    f.sites.push_back(s);
  }
  return f;
}

class MaintenanceTest : public ::testing::Test {
 protected:
  MaintenanceTest() : broker_(twoSites(), config()) {}

  static BrokerConfig config() {
    BrokerConfig c;
    c.heartbeat_interval = seconds(1);
    c.suspect_after_missed = 3;
    c.unreachable_after_missed = 6;
    c.lost_lease = seconds(30);
    c.maintenance_grace = seconds(10);
    return c;
  }

  static Time at(int64_t s) { return fromMillis(1'800'000'000'000 + s * 1000); }

  Effects send(const std::string& site, Body body, Time now) {
    Effects fx;
    broker_.onMessage(*broker_.siteIndex(site),
                      makeMessage(site, "m-" + std::to_string(++msg_), now, std::move(body)), now,
                      fx);
    broker_.tick(now, fx);
    return fx;
  }

  void bringUp(const std::string& site, Time now) {
    send(site, Hello{"test", "simulated", {}}, now);
    PartitionCapacity p;
    p.name = "gpu";
    p.node_type = NodeType{"h100", 4, 64, 512};
    p.nodes_total = p.nodes_idle = 16;
    Capacity c;
    c.capacity.epoch = ++epoch_;
    c.capacity.partitions = {p};
    send(site, c, now);
  }

  Result<MaintenanceWindow> declare(const std::string& site, Time start, Time end, Time now,
                                    std::string reason = "Slurm upgrade") {
    Effects fx;
    Result<MaintenanceWindow> w =
        broker_.declareMaintenance(site, start, end, reason, "ops", now, fx);
    last_fx_ = fx;
    return w;
  }

  JobSpec gpuJob() {
    JobSpec s;
    s.name = "train";
    s.project = "demo";
    s.nodes = 1;
    s.gpus_per_node = 4;
    s.gpu_type = "h100";
    s.walltime = hours(1);
    return s;
  }

  Broker broker_;
  Effects last_fx_;
  int msg_ = 0;
  uint64_t epoch_ = 0;
};

TEST_F(MaintenanceTest, ADeclarationIsValidatedAndEveryWindowGetsANewId) {
  // end not after start, end past, longer than 14 days, no reason, unknown site.
  EXPECT_EQ(declare("site-a", at(100), at(100), at(0)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(declare("site-a", at(-100), at(-10), at(0)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(declare("site-a", at(0), at(0) + hours(24 * 14) + seconds(1), at(0)).status().field(),
            "end");
  EXPECT_EQ(declare("site-a", at(0), at(10), at(0), "").status().field(), "reason");
  EXPECT_EQ(declare("site-x", at(0), at(10), at(0)).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(last_fx_.next_window_seq.has_value()) << "refusals change nothing";

  Result<MaintenanceWindow> first = declare("site-a", at(0), at(0) + hours(24 * 14), at(0));
  ASSERT_TRUE(first.ok()) << first.status().toString();
  EXPECT_EQ(first->id, "mw-1");
  EXPECT_EQ(first->declared_by, "ops");
  EXPECT_EQ(last_fx_.next_window_seq, std::optional<int64_t>(2));
  ASSERT_EQ(last_fx_.sites.size(), 1u);
  EXPECT_EQ(last_fx_.sites[0].maintenance, (std::vector<MaintenanceWindow>{*first}));

  Effects fx;
  ASSERT_TRUE(broker_.cancelMaintenance("site-a", "mw-1", at(1), fx).ok());
  EXPECT_EQ(broker_.cancelMaintenance("site-a", "mw-1", at(1), fx).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(declare("site-b", at(5), at(50), at(1))->id, "mw-2") << "mw-1 is never reused";

  // A restart: the stored counter wins, and a stored window's id is never handed out
  // again even with a counter lost.
  Broker again(twoSites(), config());
  Broker::Restored stored;
  stored.sites = broker_.sites();
  stored.next_window_seq = 1;
  again.restore(std::move(stored), at(2));
  Effects fx2;
  EXPECT_EQ(again.declareMaintenance("site-a", at(5), at(50), "x", "ops", at(2), fx2)->id, "mw-3");
}

TEST_F(MaintenanceTest, NoJobGoesToASiteInsideItsWindowAndTheDecisionSaysUntilWhen) {
  bringUp("site-a", at(0));
  ASSERT_TRUE(declare("site-a", at(10), at(100), at(0)).ok());
  for (int t = 1; t <= 5; ++t) send("site-a", Heartbeat{epoch_, 0, 0}, at(t));
  Effects fx;
  Result<JobRecord> before = broker_.submit(gpuJob(), at(5), fx);
  broker_.tick(at(5), fx);
  EXPECT_EQ(broker_.findJob(before->id)->site, "site-a")
      << "the window has not begun: "
      << (broker_.lastDecision(before->id) ? broker_.lastDecision(before->id)->verdicts[0].reason
                                           : "no decision");

  for (int t = 6; t <= 20; ++t) send("site-a", Heartbeat{epoch_, 0, 0}, at(t));
  EXPECT_EQ(broker_.findSite("site-a")->maintenance_active, "mw-1");
  Effects fx2;
  Result<JobRecord> inside = broker_.submit(gpuJob(), at(20), fx2);
  broker_.tick(at(20), fx2);
  EXPECT_EQ(broker_.findJob(inside->id)->state, JobState::kQueued);
  const PlacementDecision* d = broker_.lastDecision(inside->id);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->verdicts[0].rejected_by, "site-state");
  EXPECT_THAT(d->verdicts[0].reason, HasSubstr("maintenance window mw-1 until"));
  EXPECT_THAT(d->verdicts[0].reason, HasSubstr("Slurm upgrade"));

  // Cancelled early: the site takes the job at once.
  Effects fx3;
  ASSERT_TRUE(broker_.cancelMaintenance("site-a", "mw-1", at(21), fx3).ok());
  broker_.tick(at(21), fx3);
  EXPECT_EQ(broker_.findJob(inside->id)->site, "site-a");
}

TEST_F(MaintenanceTest, ASiteSilentInsideItsWindowKeepsItsJobsUntilEndPlusGraceAndTheLease) {
  bringUp("site-a", at(0));
  bringUp("site-b", at(0));
  Effects fx;
  Result<JobRecord> j = broker_.submit(gpuJob(), at(0), fx);
  broker_.tick(at(0), fx);
  std::string site = broker_.findJob(j->id)->site;
  std::string other = site == "site-a" ? "site-b" : "site-a";
  send(site, DispatchAck{j->id, 1, true, "", "sim-1"}, at(0));
  // The window starts at 5 and ends at 60; grace 10: paused 5..70. Silent from 0,
  // unreachable at 6: nothing counts until 70, then 30 s of lease: lost at 100.
  ASSERT_TRUE(declare(site, at(5), at(60), at(0)).ok());
  for (int t = 1; t <= 99; ++t) send(other, Heartbeat{0, 0, 0}, at(t));
  EXPECT_EQ(broker_.findSite(site)->state, SiteState::kUnreachable);
  EXPECT_EQ(broker_.findJob(j->id)->state, JobState::kPending) << "lease paused by the window";
  EXPECT_EQ(broker_.findJob(j->id)->site, site);
  send(other, Heartbeat{0, 0, 0}, at(100));
  EXPECT_NE(broker_.findJob(j->id)->attempt, 1) << "the old rule after end + grace + lease";
}

TEST_F(MaintenanceTest, TheAgentIsToldTheWindowsAndItsAcknowledgementRetiresCancelledOnes) {
  ASSERT_TRUE(declare("site-a", at(0), at(100), at(0)).ok());
  Maintenance m = broker_.maintenanceFor("site-a");
  ASSERT_EQ(m.windows.size(), 1u);
  EXPECT_EQ(m.grace, seconds(10));
  Effects fx;
  ASSERT_TRUE(broker_.cancelMaintenance("site-a", "mw-1", at(1), fx).ok());
  EXPECT_TRUE(broker_.maintenanceFor("site-a").windows.empty());
  EXPECT_EQ(broker_.findSite("site-a")->maintenance_retired.size(), 1u);
  Effects ack;
  broker_.maintenanceAcknowledged("site-a", {}, ack);
  EXPECT_TRUE(broker_.findSite("site-a")->maintenance_retired.empty());
  ASSERT_EQ(ack.sites.size(), 1u) << "the change is stored";
}

}  // namespace
}  // namespace aifed::broker
