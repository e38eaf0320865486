// The console's history on the daemon's side (coordinator/history_recorder.h): when a
// sample is due on an injected clock, what a sample holds, when a site is stale, the
// writer's transactions off the event loop, and the transition log's site events.
#include "coordinator/history_recorder.h"

#include <gtest/gtest.h>

#include <thread>

#include "coordinator/site_transition_log.h"
#include "tests/store/test_dir.h"

namespace aifed::coordinator {
namespace {

using std::chrono::seconds;

Time wall(int64_t s) { return fromMillis(1'800'000'000'000 + s * 1000); }

broker::SiteRecord reported(const std::string& id, int idle, int allocated, Time report) {
  broker::SiteRecord r;
  r.id = id;
  r.state = SiteState::kUp;
  r.last_report = report;
  r.last_heard = report;
  SiteCapacity c;
  PartitionCapacity p;
  p.name = "gpu";
  p.node_type = NodeType{"h100", 4, 64, 512};
  p.nodes_total = 16;
  p.nodes_idle = idle;
  p.nodes_allocated = allocated;
  p.nodes_down = 16 - idle - allocated;
  p.pending_jobs = 5;
  p.pending_node_hours = 12.5;
  p.running_jobs = 3;
  c.partitions = {p, p};
  r.capacity = c;
  return r;
}

TEST(HistorySampler, ASampleIsDueAtOnceThenEveryInterval) {
  ManualClock clock(wall(0));
  HistorySampler sampler({.interval = seconds(60), .retention = seconds(3600)}, seconds(5));
  EXPECT_TRUE(sampler.due(clock.now()));
  std::vector<store::HistorySample> s = sampler.sample({reported("a", 4, 10, wall(0))}, clock.now());
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].t, wall(0));
  clock.advance(seconds(59));
  EXPECT_FALSE(sampler.due(clock.now()));
  clock.advance(seconds(1));
  EXPECT_TRUE(sampler.due(clock.now()));
  (void)sampler.sample({}, clock.now());
  EXPECT_FALSE(sampler.due(clock.now()));
  // The wall clock set back by more than an interval: sampling goes on from there.
  clock.set(wall(-3600));
  EXPECT_TRUE(sampler.due(clock.now()));
}

TEST(HistorySampler, ASampleSumsThePartitionsOfTheLastReport) {
  // Two partitions of 16 nodes x 4 accelerators: 128 in all; 10 nodes allocated and 4
  // idle in each: 80 used, 32 free (the rest of the nodes are down).
  store::HistorySample s = sampleOf(reported("mimer", 4, 10, wall(0)), wall(1), seconds(5));
  EXPECT_EQ(s.site, "mimer");
  EXPECT_EQ(s.state, "up");
  EXPECT_EQ(s.accelerators_total, 128);
  EXPECT_EQ(s.accelerators_used, 80);
  EXPECT_EQ(s.accelerators_free, 32);
  EXPECT_EQ(s.nodes_total, 32);
  EXPECT_EQ(s.nodes_idle, 8);
  EXPECT_EQ(s.pending_jobs, 10);
  EXPECT_DOUBLE_EQ(s.pending_node_hours, 25.0);
  EXPECT_EQ(s.running_jobs, 6);
  EXPECT_FALSE(s.stale);
}

TEST(HistorySampler, StateShowsDrainAndMaintenance) {
  broker::SiteRecord r = reported("mimer", 4, 10, wall(0));
  r.state = SiteState::kDraining;
  r.drained = true;
  EXPECT_EQ(sampleOf(r, wall(1), seconds(5)).state, "draining");
  r.maintenance_active = "mw-1";
  EXPECT_EQ(sampleOf(r, wall(1), seconds(5)).state, "maintenance");
  r.state = SiteState::kSuspect;
  EXPECT_EQ(sampleOf(r, wall(1), seconds(5)).state, "suspect");
}

TEST(HistorySampler, AnUnreachableSiteIsStaleAfterThreeHeartbeats) {
  broker::SiteRecord r = reported("mimer", 4, 10, wall(0));
  r.state = SiteState::kUnreachable;
  // Heartbeat 5 s: the report is current up to 15 s old.
  EXPECT_FALSE(sampleOf(r, wall(15), seconds(5)).stale);
  store::HistorySample s = sampleOf(r, wall(16), seconds(5));
  EXPECT_TRUE(s.stale);
  EXPECT_EQ(s.state, "unreachable");
  EXPECT_EQ(s.accelerators_used, 80);  // the last report's figures, marked stale
  r.state = SiteState::kUp;  // a site that is up is never stale, however old its report
  EXPECT_FALSE(sampleOf(r, wall(1000), seconds(5)).stale);
  broker::SiteRecord never;
  never.id = "x";
  EXPECT_TRUE(sampleOf(never, wall(0), seconds(5)).stale);
  EXPECT_EQ(sampleOf(never, wall(0), seconds(5)).accelerators_total, 0);
}

// Runs the io context until `done` or two seconds have passed.
template <typename Done>
bool runUntil(boost::asio::io_context& io, Done done) {
  auto deadline = std::chrono::steady_clock::now() + seconds(2);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return done();
}

TEST(HistoryWriter, WritesSamplesAndEventsAndPrunesBeyondRetention) {
  testing_support::TestDir dir;
  auto created = store::CoordinatorStore::open(dir.file("c.db"), /*create=*/true);
  ASSERT_TRUE(created.ok());
  auto reader = store::CoordinatorStore::open(dir.file("c.db"));
  ASSERT_TRUE(reader.ok());
  boost::asio::io_context io;
  ManualClock clock(wall(0));
  HistorySampler sampler({.interval = seconds(60), .retention = seconds(120)}, seconds(5));
  HistoryWriter writer(io, std::move(*created), seconds(120));
  std::vector<broker::SiteRecord> sites = {reported("a", 4, 10, wall(0)),
                                           reported("b", 16, 0, wall(0))};
  // Four intervals on the injected clock: samples at 0, 60, 120, 180 s.
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(sampler.due(clock.now()));
    writer.add(sampler.sample(sites, clock.now()), {}, clock.now());
    ASSERT_TRUE(runUntil(io, [&] { return writer.writes() == uint64_t(i + 1); }));
    clock.advance(seconds(60));
  }
  writer.add({}, {{0, wall(170), "a", "up", "draining", "cooling", "alice"}}, wall(180));
  ASSERT_TRUE(runUntil(io, [&] { return writer.writes() == 5; }));
  EXPECT_EQ(writer.failures(), 0u);
  // Retention 120 s at 180 s: the sample at 0 is gone, 60..180 remain.
  auto rows = (*reader)->siteHistory("a", wall(-1000), wall(1000));
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ(rows->front().t, wall(60));
  auto fed = (*reader)->federationHistory(wall(0), wall(1000));
  ASSERT_EQ(fed->size(), 3u);
  EXPECT_EQ(fed->back().accelerators_total, 256);
  EXPECT_EQ(fed->back().accelerators_used, 80);
  auto events = (*reader)->siteEvents("a", 10);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().reason, "cooling");
}

TEST(HistoryWriter, ReadsRunOnItsThreadAndAnswerOnTheEventLoop) {
  testing_support::TestDir dir;
  auto created = store::CoordinatorStore::open(dir.file("c.db"), /*create=*/true);
  ASSERT_TRUE(created.ok());
  boost::asio::io_context io;
  HistoryWriter writer(io, std::move(*created), seconds(3600));
  writer.add({sampleOf(reported("a", 4, 10, wall(0)), wall(0), seconds(5))}, {}, wall(0));
  std::thread::id reader, answered;
  size_t rows = 0;
  bool done = false;
  writer.read(
      [&](store::CoordinatorStore& st) {
        reader = std::this_thread::get_id();
        rows = st.siteHistory("a", wall(0), wall(0))->size();  // after the write queued first
      },
      [&] {
        answered = std::this_thread::get_id();
        done = true;
      });
  ASSERT_TRUE(runUntil(io, [&] { return done; }));
  EXPECT_NE(reader, std::this_thread::get_id());
  EXPECT_EQ(answered, std::this_thread::get_id());
  EXPECT_EQ(rows, 1u);
}

TEST(SiteTransitionLog, EveryTransitionIsAlsoASiteEvent) {
  SiteTransitionLog log;
  broker::SiteRecord r;
  r.id = "mimer";
  log.seed({r});
  std::vector<store::SiteEvent> events;
  r.state = SiteState::kUp;
  r.agent_version = "1.2.0";
  (void)log.observe({r}, wall(1), &events);
  r.state = SiteState::kDraining;
  r.drained = true;
  r.drain_reason = "cooling repair";
  r.drained_by = "alice";
  (void)log.observe({r}, wall(2), &events);
  r.maintenance = {{"mw-1", wall(3), wall(100), "firmware", "ops"}};
  r.maintenance_active = "mw-1";
  (void)log.observe({r}, wall(3), &events);
  r.state = SiteState::kUnreachable;
  r.last_heard = wall(3);
  (void)log.observe({r}, wall(40), &events);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0], (store::SiteEvent{0, wall(1), "mimer", "unknown", "up",
                                         "agent 1.2.0 connected", "agent"}));
  EXPECT_EQ(events[1], (store::SiteEvent{0, wall(2), "mimer", "up", "draining",
                                         "cooling repair", "alice"}));
  EXPECT_EQ(events[2], (store::SiteEvent{0, wall(3), "mimer", "draining", "maintenance",
                                         "firmware (window mw-1 until 2027-01-15 08:01:40Z)",
                                         "ops"}));
  EXPECT_EQ(events[3].from, "maintenance");
  EXPECT_EQ(events[3].to, "unreachable");
  EXPECT_EQ(events[3].actor, "coordinator");
  EXPECT_EQ(events[3].reason, "missed heartbeats, last heard 2027-01-15 08:00:03Z");
}

}  // namespace
}  // namespace aifed::coordinator
