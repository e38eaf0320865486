// The site table (coordinator/broker/site_table.h): liveness on the monotonic clock, the
// lease reported once a spell, late capacity reports, drain, restore.
#include "coordinator/broker/site_table.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

namespace aifed::broker {
namespace {

using std::chrono::seconds;

Federation twoSites() {
  Federation f;
  for (const char* id : {"a", "b"}) {
    SiteConfig s;
    s.id = id;
    s.country = "FI";
    f.sites.push_back(s);
  }
  return f;
}

Capacity report(uint64_t epoch, int idle) {
  Capacity c;
  c.capacity.epoch = epoch;
  PartitionCapacity p;
  p.name = "gpu";
  p.nodes_total = 8;
  p.nodes_idle = idle;
  c.capacity.partitions = {p};
  return c;
}

class SiteTableTest : public ::testing::Test {
 protected:
  // suspect after 3 s of silence, unreachable after 6 s, lease 30 s; a maintenance
  // window pauses the lease until 5 s after its end.
  SiteTableTest() : sites_(twoSites(), {seconds(3), seconds(6), seconds(30), seconds(5)}) {}

  // The wall clock sits far from the monotonic one, as it does on a real host.
  Instant at(int64_t s) {
    return {fromMillis(1'800'000'000'000 + s * 1000), MonoTime(seconds(500 + s))};
  }
  void advance(int64_t s) {
    changed_.clear();
    expired_.clear();
    sites_.advance(at(s), changed_, expired_);
  }

  SiteTable sites_;
  std::vector<size_t> changed_, expired_;
};

TEST_F(SiteTableTest, ASiteNeverHeardBecomesUnreachableAfterTheUnreachableInterval) {
  advance(0);  // starts counting
  EXPECT_EQ(sites_.liveness(0), SiteState::kUnknown);
  advance(5);
  EXPECT_TRUE(changed_.empty());
  advance(6);
  EXPECT_EQ(changed_, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(sites_.record(0).state, SiteState::kUnreachable);
  EXPECT_EQ(sites_.record(0).unreachable_since, at(6).wall);
}

TEST_F(SiteTableTest, SilenceMakesAnUpSiteSuspectThenUnreachableAndAMessageBringsItBack) {
  sites_.heard(0, at(0));
  EXPECT_TRUE(sites_.markUp(0, at(0)));
  EXPECT_FALSE(sites_.markUp(0, at(0)));  // already up: nothing to emit
  EXPECT_EQ(sites_.nextDeadline(), at(3).mono);
  advance(3);
  EXPECT_EQ(sites_.liveness(0), SiteState::kSuspect);
  EXPECT_EQ(sites_.nextDeadline(), at(6).mono);
  advance(6);
  EXPECT_EQ(sites_.liveness(0), SiteState::kUnreachable);
  sites_.heard(0, at(7));
  EXPECT_TRUE(sites_.markUp(0, at(7)));
  EXPECT_EQ(sites_.record(0).state, SiteState::kUp);
  EXPECT_FALSE(sites_.record(0).unreachable_since.has_value());
}

TEST_F(SiteTableTest, TheLeaseIsReportedOnceASpellAndCountsOnTheMonotonicClock) {
  // b keeps talking (every second) while a falls silent at 0.
  sites_.heard(0, at(0));
  sites_.markUp(0, at(0));
  auto bTalks = [&](int64_t s) {
    sites_.heard(1, at(s));
    sites_.markUp(1, at(s));
  };
  for (int64_t s = 0; s <= 6; ++s) {
    bTalks(s);
    advance(s);
  }
  ASSERT_EQ(sites_.liveness(0), SiteState::kUnreachable);  // since 6
  for (int64_t s = 7; s <= 35; ++s) {
    bTalks(s);
    advance(s);
    EXPECT_TRUE(expired_.empty()) << s;
  }
  EXPECT_EQ(sites_.nextDeadline(), at(36).mono);
  // The wall clock is stepped back an hour; the lease still runs out on time.
  bTalks(36);
  Instant stepped{at(36).wall - std::chrono::hours(1), at(36).mono};
  changed_.clear();
  sites_.advance(stepped, changed_, expired_);
  EXPECT_EQ(expired_, (std::vector<size_t>{0}));
  bTalks(100);
  advance(100);
  EXPECT_TRUE(expired_.empty());  // once a spell
  // A new spell gets a new lease.
  sites_.heard(0, at(101));
  sites_.markUp(0, at(101));
  for (int64_t s = 101; s <= 137; ++s) {
    bTalks(s);
    advance(s);
    if (s < 137) {
      EXPECT_TRUE(expired_.empty()) << s;
    }
  }
  EXPECT_EQ(expired_, (std::vector<size_t>{0}));  // unreachable at 107, lease out at 137
}

TEST_F(SiteTableTest, NoLeaseRunsWhileNoSiteIsHeard) {
  sites_.heard(0, at(0));
  sites_.markUp(0, at(0));
  advance(0);
  advance(6);  // a unreachable; b never heard
  for (int64_t s = 7; s <= 1000; s += 7) {
    advance(s);
    EXPECT_TRUE(expired_.empty()) << s;
  }
  EXPECT_FALSE(sites_.nextDeadline().has_value());  // paused: nothing to wait for
  // b is heard at 1001: the lease runs (30 s of connected time) from there.
  sites_.heard(1, at(1001));
  sites_.markUp(1, at(1001));
  for (int64_t s = 1001; s <= 1031; ++s) {
    sites_.heard(1, at(s));
    advance(s);
  }
  EXPECT_EQ(expired_, (std::vector<size_t>{0}));
}

TEST_F(SiteTableTest, ALateCapacityReportIsIgnoredButAFreshSessionTakesAnyEpoch) {
  sites_.startSession(0, "1.0", 1, at(0));
  EXPECT_TRUE(*sites_.applyCapacity(0, report(5, 4), nullptr, at(0)));
  EXPECT_FALSE(*sites_.applyCapacity(0, report(5, 1), nullptr, at(1)));  // a duplicate
  EXPECT_FALSE(*sites_.applyCapacity(0, report(4, 1), nullptr, at(1)));  // late
  EXPECT_EQ(sites_.record(0).capacity->partitions[0].nodes_idle, 4);
  EXPECT_EQ(sites_.epoch(0), 5u);
  // The agent restarted and counts from 1 again: its first report is taken.
  sites_.startSession(0, "1.1", 1, at(2));
  Capacity taken = report(1, 7);
  EXPECT_TRUE(*sites_.applyCapacity(0, taken, &taken, at(2)));
  EXPECT_EQ(sites_.epoch(0), 1u);
  EXPECT_EQ(taken.capacity.epoch, 5u);  // swapped: it holds the previous report
  EXPECT_EQ(sites_.record(0).agent_version, "1.1");
  EXPECT_EQ(sites_.record(0).last_report, at(2).wall);
}

// A report that cannot be true changes nothing: placement keeps the last valid one.
TEST_F(SiteTableTest, AnImpossibleReportOrAWildEpochIsRefusedNamingTheField) {
  sites_.startSession(0, "1.0", 1, at(0));
  ASSERT_TRUE(*sites_.applyCapacity(0, report(5, 4), nullptr, at(0)));
  struct Case {
    const char* what;
    Capacity c;
    std::string field;
  };
  std::vector<Case> cases;
  Capacity negative = report(6, -1);
  cases.push_back({"negative idle", negative, "partitions[0].nodes_idle"});
  Capacity overfull = report(6, 9);  // 9 idle of 8
  cases.push_back({"idle above total", overfull, "partitions[0].nodes_idle"});
  Capacity huge = report(6, 4);
  huge.capacity.partitions[0].node_type.accelerators_per_node = 1 << 30;
  cases.push_back({"2^30 accelerators a node", huge, "partitions[0].node_type.accelerators_per_node"});
  Capacity nan = report(6, 4);
  nan.capacity.partitions[0].pending_node_hours = std::nan("");
  cases.push_back({"NaN hours", nan, "partitions[0].pending_node_hours"});
  Capacity twice = report(6, 4);
  twice.capacity.partitions.push_back(twice.capacity.partitions[0]);
  cases.push_back({"a partition twice", twice, "partitions[1].name"});
  cases.push_back({"epoch 2^64-1", report(UINT64_MAX, 4), "epoch"});
  cases.push_back({"epoch jumps by 2^40", report(5 + (uint64_t{1} << 40), 4), "epoch"});
  for (const Case& c : cases) {
    Result<bool> r = sites_.applyCapacity(0, c.c, nullptr, at(1));
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().field(), c.field) << c.what << ": " << r.status().message();
  }
  EXPECT_EQ(sites_.epoch(0), 5u);
  EXPECT_EQ(sites_.record(0).capacity->partitions[0].nodes_idle, 4);
  EXPECT_TRUE(*sites_.applyCapacity(0, report(6, 3), nullptr, at(2)));  // the next real one
}

// The agent's health: kept with its time, emitted when what a person watches changes
// (the first report, backend up/down or its error, the version), cleared by a new session.
TEST_F(SiteTableTest, AgentHealthIsKeptAndANewSessionClearsIt) {
  AgentHealth h{.version = "0.1.0",
                .backend_ok = true,
                .backend_error = "",
                .last_backend_ok_at = at(0).wall,
                .outbox_depth = 0};
  EXPECT_FALSE(sites_.record(0).agent_health.has_value());
  EXPECT_TRUE(sites_.setAgentHealth(0, h, at(1).wall));  // the first report
  h.outbox_depth = 5;
  h.last_backend_ok_at = at(2).wall;
  EXPECT_FALSE(sites_.setAgentHealth(0, h, at(2).wall));  // figures only
  EXPECT_EQ(sites_.record(0).agent_health, h);
  EXPECT_EQ(sites_.record(0).agent_health_at, at(2).wall);
  h.backend_ok = false;
  h.backend_error = "sinfo: Socket timed out";
  EXPECT_TRUE(sites_.setAgentHealth(0, h, at(3).wall));
  h.backend_error = "sinfo: Unable to contact slurm controller";
  EXPECT_TRUE(sites_.setAgentHealth(0, h, at(4).wall));
  EXPECT_FALSE(sites_.record(1).agent_health.has_value());  // per site
  sites_.startSession(0, "0.2.0", 2, at(5));
  EXPECT_FALSE(sites_.record(0).agent_health.has_value());
  EXPECT_FALSE(sites_.record(0).agent_health_at.has_value());
}

TEST_F(SiteTableTest, AnUpSiteThatIsDrainedShowsDrainingAndIsNotOpen) {
  sites_.startSession(0, "1.0", 1, at(0));
  sites_.markUp(0, at(0));
  EXPECT_FALSE(sites_.anyOpen());  // no capacity report yet
  ASSERT_TRUE(sites_.applyCapacity(0, report(1, 8), nullptr, at(0)).ok());
  EXPECT_TRUE(sites_.anyOpen());
  EXPECT_TRUE(sites_.canSend(0));
  EXPECT_FALSE(sites_.canSend(1));
  EXPECT_TRUE(sites_.setDrained(0, true));
  EXPECT_FALSE(sites_.setDrained(0, true));
  EXPECT_EQ(sites_.record(0).state, SiteState::kDraining);
  EXPECT_FALSE(sites_.anyOpen());
  EXPECT_TRUE(sites_.canSend(0));  // commands still reach a drained site
  sites_.checkInvariants();
}

TEST_F(SiteTableTest, RestoreKeepsWhatTheStoreHadAndEverySiteStartsUnknown) {
  SiteRecord stored;
  stored.id = "b";
  stored.drained = true;
  stored.jobs_placed = 12;
  stored.state = SiteState::kUp;
  SiteRecord gone;
  gone.id = "removed-from-the-file";
  sites_.restore({stored, gone});
  const SiteRecord& b = sites_.record(*sites_.find("b"));
  EXPECT_TRUE(b.drained);
  EXPECT_EQ(b.jobs_placed, 12);
  EXPECT_EQ(b.state, SiteState::kUnknown);
  EXPECT_FALSE(sites_.find("removed-from-the-file").has_value());
  sites_.checkInvariants();
}

// --- Maintenance windows: the lease paused from start to end + grace ---

MaintenanceWindow window(std::string id, Time start, Time end) {
  return {std::move(id), start, end, "Slurm upgrade", "ops"};
}

TEST_F(SiteTableTest, AWindowPausesTheLeaseUntilItsEndPlusGraceAndThenLeaves) {
  sites_.heard(0, at(0));
  sites_.markUp(0, at(0));
  // a: unreachable at 6. Window 10..20, grace 5: the lease does not count 10..25.
  sites_.setMaintenance(0, {window("mw-1", at(10).wall, at(20).wall)});
  std::optional<int64_t> expired_at;
  for (int64_t s = 0; s <= 60; ++s) {
    sites_.heard(1, at(s));  // b keeps the coordinator connected
    sites_.markUp(1, at(s));
    advance(s);
    if (!expired_.empty() && !expired_at) expired_at = s;
    if (s == 10) {
      EXPECT_EQ(sites_.record(0).maintenance_active, "mw-1");
    }
    if (s == 19) {
      EXPECT_EQ(sites_.record(0).maintenance_active, "mw-1");
    }
    if (s == 20) {
      EXPECT_EQ(sites_.record(0).maintenance_active, "");  // ended: placements may resume
      EXPECT_EQ(sites_.record(0).maintenance.size(), 1u);  // still pausing (grace)
    }
    if (s == 25) {
      EXPECT_TRUE(sites_.record(0).maintenance.empty()) << "gone after end + grace";
    }
  }
  // 4 s counted (6..10), paused 10..25, then 26 s more: out at 51, not 36.
  EXPECT_EQ(expired_at, std::optional<int64_t>(51));
}

TEST_F(SiteTableTest, AWindowIsPausedTimeOfTheWallClockConvertedOnTheMonotonicClock) {
  sites_.heard(0, at(0));
  sites_.markUp(0, at(0));
  sites_.setMaintenance(0, {window("mw-1", at(20).wall, at(21).wall)});  // pause 20..26
  for (int64_t s = 0; s <= 10; ++s) {
    sites_.heard(1, at(s));
    advance(s);
  }
  EXPECT_EQ(sites_.leaseElapsed(0), seconds(4));  // unreachable at 6
  // The wall clock jumps an hour ahead while 1 s passes: the window lies inside that
  // stretch, but a pause never exceeds the monotonic time that passed.
  sites_.heard(1, at(11));
  Instant jumped{at(11).wall + std::chrono::hours(1), at(11).mono};
  changed_.clear();
  sites_.advance(jumped, changed_, expired_);
  EXPECT_EQ(sites_.leaseElapsed(0), seconds(4));  // the 1 s was all paused (clamped)
  // And a wall clock stepped back pauses nothing.
  sites_.heard(1, at(12));
  Instant back{at(12).wall - std::chrono::hours(2), at(12).mono};
  sites_.advance(back, changed_, expired_);
  EXPECT_EQ(sites_.leaseElapsed(0), seconds(5));
}

TEST_F(SiteTableTest, ACancelledWindowKeepsPausingUntilTheAgentAcknowledgesTheNewList) {
  sites_.heard(0, at(0));
  sites_.markUp(0, at(0));
  MaintenanceWindow w = window("mw-1", at(0).wall, at(1000).wall);
  sites_.setMaintenance(0, {w});
  sites_.setMaintenance(0, {});  // cancelled
  EXPECT_TRUE(sites_.record(0).maintenance.empty());
  ASSERT_EQ(sites_.record(0).maintenance_retired, (std::vector<MaintenanceWindow>{w}));
  for (int64_t s = 0; s <= 40; ++s) {
    sites_.heard(1, at(s));
    sites_.markUp(1, at(s));
    advance(s);
    EXPECT_TRUE(expired_.empty()) << s;  // the agent may still pause: so do we
  }
  EXPECT_TRUE(sites_.retireAcknowledged(0, {"mw-9"}));
  EXPECT_TRUE(sites_.record(0).maintenance_retired.empty());  // mw-1 not held: retired
  EXPECT_FALSE(sites_.retireAcknowledged(0, {}));              // nothing left to change
  std::optional<int64_t> expired_at;
  for (int64_t s = 41; s <= 80; ++s) {
    sites_.heard(1, at(s));
    sites_.markUp(1, at(s));
    advance(s);
    if (!expired_.empty() && !expired_at) expired_at = s;
  }
  EXPECT_EQ(expired_at, std::optional<int64_t>(70));  // 30 s counted from 40
}

TEST_F(SiteTableTest, DrainKeepsWhoWhyAndWhenAndResumeClearsThem) {
  EXPECT_TRUE(sites_.setDrained(0, true, "disk swap", "alice", at(3).wall));
  EXPECT_EQ(sites_.record(0).drain_reason, "disk swap");
  EXPECT_EQ(sites_.record(0).drained_by, "alice");
  EXPECT_EQ(sites_.record(0).drained_at, at(3).wall);
  EXPECT_TRUE(sites_.setDrained(0, false));
  EXPECT_EQ(sites_.record(0).drain_reason, "");
  EXPECT_EQ(sites_.record(0).drained_by, "");
  EXPECT_FALSE(sites_.record(0).drained_at.has_value());
}

}  // namespace
}  // namespace aifed::broker
