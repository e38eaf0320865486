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
  // suspect after 3 s of silence, unreachable after 6 s, lease 30 s.
  SiteTableTest() : sites_(twoSites(), {seconds(3), seconds(6), seconds(30)}) {}

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

}  // namespace
}  // namespace aifed::broker
