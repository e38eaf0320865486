// LocalScheduler: hand-checked FCFS and EASY schedules, then randomized properties.
// Times are minutes after t0 so every expected schedule can be worked out on paper.
#include "site-agent/backends/local_scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

namespace aifed::agent {
namespace {

using std::chrono::minutes;
using ::testing::ElementsAre;

Time at(int minute) {
  return Time{} + minutes(minute);
}

// Fluent builder: Job().nodes(4).wall(10).run(5).priority(2).
struct Job {
  LocalJobRequest r{.nodes = 1, .walltime = minutes(10), .runtime = minutes(10), .priority = 0};
  Job& nodes(int n) {
    r.nodes = n;
    return *this;
  }
  // Sets walltime and, unless run() follows, a runtime equal to it.
  Job& wall(int m) {
    r.walltime = minutes(m);
    r.runtime = minutes(m);
    return *this;
  }
  Job& run(int m) {
    r.runtime = minutes(m);
    return *this;
  }
  Job& priority(int p) {
    r.priority = p;
    return *this;
  }
  operator LocalJobRequest() const { return r; }  // NOLINT: builder
};

LocalSchedulerEvent started(LocalJobId id, int minute) {
  return {id, LocalEventKind::kStarted, at(minute)};
}
LocalSchedulerEvent finished(LocalJobId id, int minute) {
  return {id, LocalEventKind::kFinished, at(minute)};
}

LocalJobId submit(LocalScheduler& s, LocalJobRequest r, int minute) {
  Result<LocalJobId> id = s.submit(r, at(minute));
  EXPECT_TRUE(id.ok()) << id.status().toString();
  return id.ok() ? *id : 0;
}

// Start time of every job, by running the model until nothing is left to do.
std::map<LocalJobId, Time> startTimes(LocalScheduler& s) {
  std::map<LocalJobId, Time> out;
  auto take = [&](const std::vector<LocalSchedulerEvent>& events) {
    for (const auto& e : events) {
      if (e.kind == LocalEventKind::kStarted) out[e.job] = e.at;
    }
  };
  take(s.advance(s.now()));
  while (auto next = s.nextEventTime()) take(s.advance(*next));
  return out;
}

// 4 nodes: A (2 nodes, 10 min), B (4 nodes, 10 min), C (1 node, 5 min), all at t0.
// FCFS: A starts at 0; B needs 4 but 2 are free, and C may not pass B. At 10 A ends
// and B starts; at 20 B ends and C starts.
TEST(LocalSchedulerTest, FcfsStopsAtTheFirstJobThatDoesNotFit) {
  LocalScheduler s(4, SchedulerMode::kFcfs);
  LocalJobId a = submit(s, Job().nodes(2).wall(10), 0);
  LocalJobId b = submit(s, Job().nodes(4).wall(10), 0);
  LocalJobId c = submit(s, Job().nodes(1).wall(5), 0);
  auto starts = startTimes(s);
  EXPECT_EQ(starts[a], at(0));
  EXPECT_EQ(starts[b], at(10));
  EXPECT_EQ(starts[c], at(20));
}

// Same jobs under EASY: B is the blocked head; A's requested end (10) frees 4 nodes,
// so B's shadow time is 10 with 0 extra nodes. C (1 node, ends at 5 <= 10) fits in the
// 2 free nodes and starts at once; B still starts at 10.
TEST(LocalSchedulerTest, EasyBackfillsAJobThatEndsBeforeTheShadowTime) {
  LocalScheduler s(4, SchedulerMode::kEasy);
  LocalJobId a = submit(s, Job().nodes(2).wall(10), 0);
  LocalJobId b = submit(s, Job().nodes(4).wall(10), 0);
  LocalJobId c = submit(s, Job().nodes(1).wall(5), 0);
  EXPECT_THAT(s.advance(at(0)), ElementsAre(started(a, 0), started(c, 0)));
  EXPECT_EQ(s.headReservation(), (HeadReservation{b, at(10)}));
  EXPECT_THAT(s.advance(at(30)),
              ElementsAre(finished(c, 5), finished(a, 10), started(b, 10), finished(b, 20)));
}

// 4 nodes: A (2 nodes, 10 min) runs, B (4 nodes) waits with shadow 10 and 0 extra.
// D (1 node, 15 min) fits now but would end at 15 > 10 and hold a node B needs at 10:
// it must not start. It starts after B, at 20.
TEST(LocalSchedulerTest, EasyDoesNotBackfillAJobThatWouldDelayTheHead) {
  LocalScheduler s(4, SchedulerMode::kEasy);
  LocalJobId a = submit(s, Job().nodes(2).wall(10), 0);
  LocalJobId b = submit(s, Job().nodes(4).wall(10), 0);
  LocalJobId d = submit(s, Job().nodes(1).wall(15), 0);
  auto starts = startTimes(s);
  EXPECT_EQ(starts[a], at(0));
  EXPECT_EQ(starts[b], at(10));
  EXPECT_EQ(starts[d], at(20));
}

// 5 nodes: A (2 nodes, 10 min) runs; B (4 nodes) waits. At shadow 10, 5 nodes are free,
// one more than B needs: extra = 1. D (1 node, 15 min) runs past 10 but uses the one
// extra node, so it starts; E (same shape) finds extra = 0 and must wait; F (1 node,
// 10 min) ends exactly at the shadow time and may start. Free now: 3 - D - F = 1.
TEST(LocalSchedulerTest, EasyExtraNodesAreUsedUp) {
  LocalScheduler s(5, SchedulerMode::kEasy);
  LocalJobId a = submit(s, Job().nodes(2).wall(10), 0);
  LocalJobId b = submit(s, Job().nodes(4).wall(10), 0);
  LocalJobId d = submit(s, Job().nodes(1).wall(15), 0);
  LocalJobId e = submit(s, Job().nodes(1).wall(15), 0);
  LocalJobId f = submit(s, Job().nodes(1).wall(10), 0);
  EXPECT_THAT(s.advance(at(0)), ElementsAre(started(a, 0), started(d, 0), started(f, 0)));
  EXPECT_EQ(s.counts().nodes_idle, 1);
  auto starts = startTimes(s);
  // At 10: A and F end; B takes the 4 free nodes (D holds the fifth). E, now the head,
  // takes D's node when D ends at 15.
  EXPECT_EQ(starts[b], at(10));
  EXPECT_EQ(starts[e], at(15));
}

// The shadow time counts every job whose requested end is that instant, and so do the
// extra nodes. 5 nodes: A and B (1 node, 10 min) and C (2 nodes, 20 min) run, 1 free.
// H (2 nodes) waits: at 10, A and B together free 2 -> 3 free, shadow 10, extra 1
// (counting only A would give extra 0). D (1 node, 50 min) runs past 10 on that extra
// node, so it starts now.
TEST(LocalSchedulerTest, ShadowTimeAddsUpAllJobsEndingTogether) {
  LocalScheduler s(5, SchedulerMode::kEasy);
  submit(s, Job().nodes(1).wall(10), 0);
  submit(s, Job().nodes(1).wall(10), 0);
  submit(s, Job().nodes(2).wall(20), 0);
  LocalJobId h = submit(s, Job().nodes(2).wall(5), 0);
  EXPECT_EQ(s.headReservation(), (HeadReservation{h, at(10)}));
  LocalJobId d = submit(s, Job().nodes(1).wall(50), 0);
  EXPECT_TRUE(s.isRunning(d));
  EXPECT_TRUE(s.isPending(h));
}

TEST(LocalSchedulerTest, JobsEndAtRuntimeOrAtWalltimeWithTimeout) {
  LocalScheduler s(2, SchedulerMode::kEasy);
  LocalJobId early = submit(s, Job().wall(60).run(15), 0);
  LocalJobId late = submit(s, Job().wall(30).run(45), 0);
  EXPECT_EQ(s.nextEventTime(), at(15));
  EXPECT_THAT(s.advance(at(100)),
              ElementsAre(started(early, 0), started(late, 0), finished(early, 15),
                          LocalSchedulerEvent{late, LocalEventKind::kTimedOut, at(30)}));
  EXPECT_EQ(s.nextEventTime(), std::nullopt);
}

// A job ending before its walltime lets the head start before its reservation, at the
// instant of the completion (not at the later `now` of advance()).
TEST(LocalSchedulerTest, StartsHappenAtCompletionInstantsInTimeOrder) {
  LocalScheduler s(4, SchedulerMode::kFcfs);
  LocalJobId a = submit(s, Job().nodes(2).wall(60).run(5), 0);
  LocalJobId b = submit(s, Job().nodes(2).wall(60).run(8), 0);
  LocalJobId c = submit(s, Job().nodes(4).wall(60).run(1), 0);
  EXPECT_EQ(s.headReservation(), (HeadReservation{c, at(60)}));
  EXPECT_THAT(s.advance(at(100)), ElementsAre(started(a, 0), started(b, 0), finished(a, 5),
                                              finished(b, 8), started(c, 8), finished(c, 9)));
}

// At one instant completions come before starts: a job needing every node starts at the
// very instant the previous one ends.
TEST(LocalSchedulerTest, CompletionsComeBeforeStartsAtTheSameInstant) {
  LocalScheduler s(3, SchedulerMode::kEasy);
  LocalJobId a = submit(s, Job().nodes(3).wall(10), 0);
  LocalJobId b = submit(s, Job().nodes(3).wall(10), 0);
  LocalJobId c = submit(s, Job().nodes(3).wall(10), 0);
  EXPECT_THAT(s.advance(at(20)), ElementsAre(started(a, 0), finished(a, 10), started(b, 10),
                                             finished(b, 20), started(c, 20)));
}

TEST(LocalSchedulerTest, HigherPriorityGoesFirstThenSubmissionOrder) {
  LocalScheduler s(1, SchedulerMode::kFcfs);
  LocalJobId running = submit(s, Job().wall(10), 0);
  LocalJobId low = submit(s, Job().wall(10).priority(0), 1);
  LocalJobId high1 = submit(s, Job().wall(10).priority(5), 2);
  LocalJobId high2 = submit(s, Job().wall(10).priority(5), 3);
  EXPECT_THAT(s.pendingInOrder(), ElementsAre(high1, high2, low));
  auto starts = startTimes(s);
  EXPECT_EQ(starts[running], at(0));
  EXPECT_EQ(starts[high1], at(10));
  EXPECT_EQ(starts[high2], at(20));
  EXPECT_EQ(starts[low], at(30));
}

// Cancelling the blocked head lets FCFS start the jobs behind it at the cancel time.
TEST(LocalSchedulerTest, CancelPendingHeadUnblocksTheQueue) {
  LocalScheduler s(4, SchedulerMode::kFcfs);
  LocalJobId a = submit(s, Job().nodes(2).wall(60), 0);
  LocalJobId b = submit(s, Job().nodes(4).wall(60), 0);
  LocalJobId c = submit(s, Job().nodes(2).wall(60), 0);
  EXPECT_THAT(s.advance(at(0)), ElementsAre(started(a, 0)));
  ASSERT_TRUE(s.cancel(b, at(7)).ok());
  EXPECT_THAT(
      s.advance(at(7)),
      ElementsAre(LocalSchedulerEvent{b, LocalEventKind::kCancelled, at(7)}, started(c, 7)));
  EXPECT_EQ(s.counts().pending_jobs, 0);
}

TEST(LocalSchedulerTest, CancelRunningFreesItsNodes) {
  LocalScheduler s(4, SchedulerMode::kEasy);
  LocalJobId a = submit(s, Job().nodes(4).wall(60), 0);
  LocalJobId b = submit(s, Job().nodes(4).wall(60), 0);
  ASSERT_TRUE(s.cancel(a, at(12)).ok());
  EXPECT_THAT(s.advance(at(12)),
              ElementsAre(started(a, 0), LocalSchedulerEvent{a, LocalEventKind::kCancelled, at(12)},
                          started(b, 12)));
  EXPECT_EQ(s.nextEventTime(), at(72));
}

TEST(LocalSchedulerTest, CancelUnknownIsNotFoundAndCancelEndedIsANoOp) {
  LocalScheduler s(1, SchedulerMode::kEasy);
  EXPECT_EQ(s.cancel(1, at(0)).code(), StatusCode::kNotFound);
  LocalJobId a = submit(s, Job().wall(5), 0);
  s.advance(at(10));
  EXPECT_TRUE(s.cancel(a, at(10)).ok());
  EXPECT_TRUE(s.advance(at(10)).empty());
  EXPECT_EQ(s.cancel(a + 1, at(10)).code(), StatusCode::kNotFound);
}

TEST(LocalSchedulerTest, RejectsJobsThatCanNeverRun) {
  LocalScheduler s(4, SchedulerMode::kEasy);
  EXPECT_EQ(s.submit(Job().nodes(5), at(0)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.submit(Job().nodes(0), at(0)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.submit(Job().wall(0), at(0)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.submit(Job().run(-1), at(0)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LocalScheduler::create(0, SchedulerMode::kFcfs).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s.counts().pending_jobs, 0);
}

// 8 nodes: A (3 nodes) runs; B (8 nodes, 90 min) and C (2 nodes, 30 min) wait behind
// it under FCFS. Pending node-hours: 8 x 1.5 + 2 x 0.5 = 13.
TEST(LocalSchedulerTest, CountsNodesAndPendingWork) {
  LocalScheduler s(8, SchedulerMode::kFcfs);
  submit(s, Job().nodes(3).wall(60), 0);
  submit(s, Job().nodes(8).wall(90), 0);
  submit(s, Job().nodes(2).wall(30), 0);
  LocalSchedulerCounts c = s.counts();
  EXPECT_EQ(c.nodes_total, 8);
  EXPECT_EQ(c.nodes_idle, 5);
  EXPECT_EQ(c.nodes_allocated, 3);
  EXPECT_EQ(c.nodes_down, 0);
  EXPECT_EQ(c.running_jobs, 1);
  EXPECT_EQ(c.pending_jobs, 2);
  EXPECT_DOUBLE_EQ(c.pending_node_hours, 13.0);
}

// 4 nodes, A on 2 of them. Taking 3 down: the 2 idle go down at once, 1 busy node drains
// (it goes down when A ends). B (2 nodes) cannot start until nodes come back.
TEST(LocalSchedulerTest, NodesDownDrainBusyNodesAndBlockStarts) {
  LocalScheduler s(4, SchedulerMode::kEasy);
  LocalJobId a = submit(s, Job().nodes(2).wall(10), 0);
  ASSERT_TRUE(s.setNodesDown(3, at(1)).ok());
  LocalJobId b = submit(s, Job().nodes(2).wall(10), 2);
  LocalSchedulerCounts c = s.counts();
  EXPECT_EQ(c.nodes_down, 2);
  EXPECT_EQ(c.nodes_draining, 1);
  EXPECT_EQ(c.nodes_allocated, 1);
  EXPECT_EQ(c.nodes_idle, 0);
  EXPECT_EQ(s.headReservation(), (HeadReservation{b, Time::max()}));
  EXPECT_THAT(s.advance(at(15)), ElementsAre(started(a, 0), finished(a, 10)));
  c = s.counts();
  EXPECT_EQ(c.nodes_down, 3);
  EXPECT_EQ(c.nodes_idle, 1);
  ASSERT_TRUE(s.setNodesDown(0, at(20)).ok());
  EXPECT_THAT(s.advance(at(20)), ElementsAre(started(b, 20)));
  EXPECT_EQ(s.setNodesDown(5, at(20)).code(), StatusCode::kInvalidArgument);
}

TEST(LocalSchedulerTest, TimeNeverGoesBackwards) {
  LocalScheduler s(1, SchedulerMode::kEasy);
  s.advance(at(50));
  LocalJobId a = submit(s, Job().wall(10), 10);  // treated as submitted at 50
  EXPECT_THAT(s.advance(at(0)), ElementsAre(started(a, 50)));
}

// ---- conservative backfilling ------------------------------------------------------

// 4 nodes: R (2 nodes, 10 min) runs. A (3 nodes, 10 min) is the blocked head: shadow 10,
// extra 4 - 3 = 1. B (4 nodes, 10 min) is next; C (1 node, 30 min) last.
// EASY protects only A: C fits now and uses the 1 extra node, so it starts at 0 and
// holds that node until 30; B, needing all 4, waits until 30.
// Conservative: A is reserved [10, 20), B [20, 30); C would hold a node B needs at 20,
// so it is reserved after B, at 30. B starts 10 minutes earlier, C 30 minutes later.
void submitReservationCase(LocalScheduler& s) {
  submit(s, Job().nodes(2).wall(10), 0);  // R = 1
  submit(s, Job().nodes(3).wall(10), 0);  // A = 2
  submit(s, Job().nodes(4).wall(10), 0);  // B = 3
  submit(s, Job().nodes(1).wall(30), 0);  // C = 4
}

TEST(LocalSchedulerTest, EasyBackfillsAJobThatDelaysTheSecondInQueue) {
  LocalScheduler s(4, SchedulerMode::kEasy);
  submitReservationCase(s);
  auto starts = startTimes(s);
  EXPECT_EQ(starts[1], at(0));
  EXPECT_EQ(starts[2], at(10));
  EXPECT_EQ(starts[3], at(30));
  EXPECT_EQ(starts[4], at(0));
}

TEST(LocalSchedulerTest, ConservativeProtectsEveryReservation) {
  LocalScheduler s(4, SchedulerMode::kConservative);
  submitReservationCase(s);
  EXPECT_THAT(s.advance(at(0)), ElementsAre(started(1, 0)));
  EXPECT_EQ(s.reservations(),
            (std::vector<HeadReservation>{{2, at(10)}, {3, at(20)}, {4, at(30)}}));
  EXPECT_EQ(s.headReservation(), (HeadReservation{2, at(10)}));
  auto starts = startTimes(s);
  EXPECT_EQ(starts[2], at(10));
  EXPECT_EQ(starts[3], at(20));
  EXPECT_EQ(starts[4], at(30));
}

// Conservative backfilling still backfills: into a hole before a reservation, and into
// nodes a reservation leaves free. 6 nodes: R (4 nodes, 20 min) runs. A (6 nodes) is
// reserved [20, 30). B (2 nodes, 20 min) ends by 20: starts now. Then nothing is free;
// C (1 node, 5 min) is reserved [30, 35) after A, and D (5 nodes, 10 min) too, at
// [30, 40): the 6 nodes after A hold both. When R ends early at 8 (runtime 8), the plan
// is made again: A still cannot start before B's requested end, 20.
TEST(LocalSchedulerTest, ConservativeBackfillsIntoHolesAndReplansOnEarlyEnds) {
  LocalScheduler s(6, SchedulerMode::kConservative);
  LocalJobId r = submit(s, Job().nodes(4).wall(20).run(8), 0);
  LocalJobId a = submit(s, Job().nodes(6).wall(10), 0);
  LocalJobId b = submit(s, Job().nodes(2).wall(20), 0);
  LocalJobId c = submit(s, Job().nodes(1).wall(5), 0);
  LocalJobId d = submit(s, Job().nodes(5).wall(10), 0);
  EXPECT_THAT(s.advance(at(0)), ElementsAre(started(r, 0), started(b, 0)));
  EXPECT_EQ(s.reservations(),
            (std::vector<HeadReservation>{{a, at(20)}, {c, at(30)}, {d, at(30)}}));
  // At 8 R ends: 4 nodes free until 20, when A takes all 6. C (ends 13) and D (5 nodes:
  // only 4 free) are replanned: C starts at 8, D stays after A.
  EXPECT_THAT(s.advance(at(8)), ElementsAre(finished(r, 8), started(c, 8)));
  EXPECT_EQ(s.reservations(), (std::vector<HeadReservation>{{a, at(20)}, {d, at(30)}}));
  auto starts = startTimes(s);
  EXPECT_EQ(starts[a], at(20));
  EXPECT_EQ(starts[d], at(30));
}

// A job that needs more nodes than are in service gets no reservation (Time::max()) and
// blocks no one; it starts when the nodes come back.
TEST(LocalSchedulerTest, ConservativeSkipsAJobThatCannotRunUntilNodesReturn) {
  LocalScheduler s(4, SchedulerMode::kConservative);
  ASSERT_TRUE(s.setNodesDown(2, at(0)).ok());
  LocalJobId a = submit(s, Job().nodes(3).wall(10), 0);
  LocalJobId b = submit(s, Job().nodes(2).wall(50), 0);
  EXPECT_THAT(s.advance(at(0)), ElementsAre(started(b, 0)));
  EXPECT_EQ(s.reservations(), (std::vector<HeadReservation>{{a, Time::max()}}));
  ASSERT_TRUE(s.setNodesDown(0, at(5)).ok());
  // 2 nodes free from 5, B's 2 more at its requested end 50: A starts at 50.
  EXPECT_EQ(s.reservations(), (std::vector<HeadReservation>{{a, at(50)}}));
  EXPECT_EQ(startTimes(s)[a], at(50));
}

TEST(LocalSchedulerTest, SchedulerModesByName) {
  for (SchedulerMode m :
       {SchedulerMode::kFcfs, SchedulerMode::kEasy, SchedulerMode::kConservative}) {
    Result<SchedulerMode> parsed = parseSchedulerMode(schedulerModeName(m));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, m);
  }
  Result<SchedulerMode> bad = parseSchedulerMode("sjf");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "unknown scheduler 'sjf' (known: fcfs, easy, conservative)");
}

// ---- randomized properties --------------------------------------------------------

struct Workload {
  int nodes = 1;
  std::vector<std::pair<int, LocalJobRequest>> jobs;  // (submit minute, request)
};

Workload randomWorkload(uint32_t seed, bool priorities) {
  std::mt19937 rng(seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Workload w;
  w.nodes = uniform(1, 16);
  int t = 0;
  int count = uniform(5, 60);
  for (int i = 0; i < count; ++i) {
    t += uniform(0, 8);  // bursts: several jobs at one instant
    int wall = uniform(1, 100);
    int run = uniform(0, 4) == 0 ? uniform(wall, wall + 50) : uniform(0, wall);
    int nodes = uniform(0, 3) == 0 ? uniform(1, w.nodes) : uniform(1, std::max(1, w.nodes / 3));
    w.jobs.push_back(
        {t, Job().nodes(nodes).wall(wall).run(run).priority(priorities ? uniform(0, 2) : 0)});
  }
  return w;
}

struct Trace {
  std::vector<LocalSchedulerEvent> events;
  std::map<LocalJobId, Time> earliest_reservation;  // over every one computed
};

// Runs a workload the way the simulator does: jump to the next submission or
// completion, whichever comes first. Checks node usage on the way.
Trace replay(const Workload& w, SchedulerMode mode) {
  LocalScheduler s(w.nodes, mode);
  Trace trace;
  std::map<LocalJobId, int> nodes_of;
  int in_use = 0;  // replayed from the events, in their order
  auto observe = [&](Time now) {
    for (const LocalSchedulerEvent& e : s.advance(now)) {
      trace.events.push_back(e);
      if (e.kind == LocalEventKind::kStarted) {
        in_use += nodes_of.at(e.job);
      } else if (e.kind != LocalEventKind::kCancelled) {
        in_use -= nodes_of.at(e.job);
      }
      EXPECT_LE(in_use, w.nodes) << "at event " << trace.events.size();
    }
    LocalSchedulerCounts c = s.counts();
    EXPECT_EQ(c.nodes_allocated, in_use);
    EXPECT_EQ(c.nodes_idle + c.nodes_allocated + c.nodes_down + c.nodes_draining, w.nodes);
    if (auto r = s.headReservation()) {
      EXPECT_GE(r->at, now);
      auto [it, inserted] = trace.earliest_reservation.emplace(r->job, r->at);
      if (!inserted) it->second = std::min(it->second, r->at);
    }
  };
  size_t next = 0;
  while (true) {
    std::optional<Time> t = s.nextEventTime();
    if (next < w.jobs.size() && (!t || at(w.jobs[next].first) <= *t)) t = at(w.jobs[next].first);
    if (!t) break;
    observe(*t);
    while (next < w.jobs.size() && at(w.jobs[next].first) == *t) {
      Result<LocalJobId> id = s.submit(w.jobs[next].second, *t);
      EXPECT_TRUE(id.ok());
      if (id.ok()) nodes_of[*id] = w.jobs[next].second.nodes;
      ++next;
      observe(*t);
    }
  }
  EXPECT_EQ(s.counts().pending_jobs, 0);
  return trace;
}

class LocalSchedulerPropertyTest : public ::testing::TestWithParam<SchedulerMode> {};

// With equal priorities (no later job can overtake), the head job never starts later
// than any reservation the scheduler computed for it: backfilled jobs never delay it.
TEST_P(LocalSchedulerPropertyTest, HeadNeverStartsAfterItsReservation) {
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    Workload w = randomWorkload(seed, /*priorities=*/false);
    Trace trace = replay(w, GetParam());
    std::map<LocalJobId, Time> starts;
    for (const auto& e : trace.events) {
      if (e.kind == LocalEventKind::kStarted) starts[e.job] = e.at;
    }
    ASSERT_EQ(starts.size(), w.jobs.size()) << "seed " << seed;
    for (const auto& [job, reserved] : trace.earliest_reservation) {
      EXPECT_LE(starts.at(job), reserved) << "seed " << seed << " job " << job;
    }
    if (HasFailure()) return;
  }
}

// Priorities on: node usage still never exceeds the partition (checked inside replay).
TEST_P(LocalSchedulerPropertyTest, NodeUsageNeverExceedsThePartition) {
  for (uint32_t seed = 1000; seed < 1300; ++seed) {
    Workload w = randomWorkload(seed, /*priorities=*/true);
    replay(w, GetParam());
    if (HasFailure()) return;
  }
}

TEST_P(LocalSchedulerPropertyTest, SameInputSameSchedule) {
  for (uint32_t seed = 7; seed < 27; ++seed) {
    Workload w = randomWorkload(seed, /*priorities=*/true);
    EXPECT_EQ(replay(w, GetParam()).events, replay(w, GetParam()).events) << "seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, LocalSchedulerPropertyTest,
                         ::testing::Values(SchedulerMode::kFcfs, SchedulerMode::kEasy,
                                           SchedulerMode::kConservative),
                         [](const auto& info) {
                           return std::string(schedulerModeName(info.param));
                         });

// Conservative backfilling's promise: when every job runs for exactly its walltime (so
// the plan is never redone on an early end), every job starts exactly at the
// reservation it got when it was submitted: no later job ever delays it.
TEST(LocalSchedulerTest, ConservativeKeepsEverySubmissionTimeReservation) {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    Workload w = randomWorkload(seed, /*priorities=*/false);
    for (auto& [minute, request] : w.jobs) request.runtime = request.walltime;
    LocalScheduler s(w.nodes, SchedulerMode::kConservative);
    std::map<LocalJobId, Time> promised, starts;
    auto take = [&](const std::vector<LocalSchedulerEvent>& events) {
      for (const auto& e : events) {
        if (e.kind == LocalEventKind::kStarted) starts[e.job] = e.at;
      }
    };
    for (const auto& [minute, request] : w.jobs) {
      // Completions up to the submission first, then the submission and its pass.
      while (auto next = s.nextEventTime()) {
        if (*next > at(minute)) break;
        take(s.advance(*next));
      }
      Result<LocalJobId> id = s.submit(request, at(minute));
      ASSERT_TRUE(id.ok());
      take(s.advance(at(minute)));
      if (starts.count(*id)) {
        promised[*id] = starts[*id];
      } else {
        for (const HeadReservation& r : s.reservations()) {
          if (r.job == *id) promised[*id] = r.at;
        }
      }
    }
    take(s.advance(s.now()));
    while (auto next = s.nextEventTime()) take(s.advance(*next));
    ASSERT_EQ(starts.size(), w.jobs.size()) << "seed " << seed;
    EXPECT_EQ(starts, promised) << "seed " << seed;
    if (HasFailure()) return;
  }
}

// Conservative backfilling is more cautious than EASY but still backfills: over 100
// fixed random workloads its total wait lies between EASY's and FCFS's.
TEST(LocalSchedulerTest, ConservativeWaitsBetweenEasyAndFcfsOnRandomWorkloads) {
  std::map<SchedulerMode, double> wait;
  for (uint32_t seed = 1; seed <= 100; ++seed) {
    Workload w = randomWorkload(seed, false);
    for (SchedulerMode mode :
         {SchedulerMode::kFcfs, SchedulerMode::kEasy, SchedulerMode::kConservative}) {
      for (const auto& e : replay(w, mode).events) {
        if (e.kind == LocalEventKind::kStarted) {
          wait[mode] += static_cast<double>((e.at - at(w.jobs[e.job - 1].first)).count());
        }
      }
    }
  }
  EXPECT_LT(wait[SchedulerMode::kConservative], wait[SchedulerMode::kFcfs]);
  EXPECT_GE(wait[SchedulerMode::kConservative], wait[SchedulerMode::kEasy]);
}

// A sanity check that backfilling happens, not a theorem (EASY can lose on one
// workload): over 100 fixed random workloads, EASY's total wait is below FCFS's.
TEST(LocalSchedulerTest, EasyBackfillingReducesMeanWaitOnRandomWorkloads) {
  double wait_fcfs = 0, wait_easy = 0;
  for (uint32_t seed = 1; seed <= 100; ++seed) {
    Workload w = randomWorkload(seed, false);
    for (SchedulerMode mode : {SchedulerMode::kFcfs, SchedulerMode::kEasy}) {
      Trace trace = replay(w, mode);
      double total = 0;
      for (const auto& e : trace.events) {
        if (e.kind == LocalEventKind::kStarted) {
          total += static_cast<double>((e.at - at(w.jobs[e.job - 1].first)).count());
        }
      }
      (mode == SchedulerMode::kFcfs ? wait_fcfs : wait_easy) += total;
    }
  }
  EXPECT_LT(wait_easy, wait_fcfs);
}

}  // namespace
}  // namespace aifed::agent
