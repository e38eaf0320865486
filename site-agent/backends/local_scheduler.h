// LocalScheduler: a deterministic, event-driven model of one Slurm-like partition.
//
// N identical nodes; every job asks for `nodes` whole nodes for at most `walltime`.
// The queue is ordered by priority (higher first), then by submission order. Three modes:
//
//   kFcfs  start jobs from the head of the queue while they fit; stop at the first that
//          does not.
//   kEasy  as kFcfs, then EASY backfilling: the blocked head job gets a reservation at
//          the shadow time (the earliest instant at which, judging by the running jobs'
//          requested ends start + walltime, enough nodes are free for it). A later job
//          may start now if it fits now and either ends (now + walltime) by the shadow
//          time or uses no more than the extra nodes (nodes free at the shadow time
//          beyond what the head needs), which it then uses up.
//   kConservative  conservative backfilling: at every pass each pending job, in queue
//          order, gets a reservation at the earliest instant it fits (for its whole
//          walltime) in the availability profile made of the running jobs' requested
//          ends and the reservations of the jobs ahead of it; a job starts now only
//          if its reservation is now. No job delays the reservation of a job ahead.
//
// A job runs for min(runtime, walltime); a job whose runtime exceeds its walltime is
// killed at its walltime (kTimedOut). docs/local-scheduler.md states every rule.
//
// Time is always the caller's: nothing here reads a clock. Every call that takes `now`
// first brings the model up to `now` (completions in time order; at each instant the
// completions come before the starts they make room for). Time never goes backwards: a
// `now` earlier than the last one seen is treated as the last one. The agent's
// SimulatedBackend drives it from poll(); an offline simulator drives it from its event
// queue with nextEventTime().
//
//   LocalScheduler gpu(64, SchedulerMode::kEasy);
//   LocalJobId id = *gpu.submit({.nodes = 4, .walltime = 2h, .runtime = 90min}, t0);
//   while (auto next = gpu.nextEventTime()) {
//     for (const LocalSchedulerEvent& e : gpu.advance(*next)) record(e);
//   }
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed::agent {

enum class SchedulerMode {
  kFcfs,          // strict priority order: nothing passes a blocked head job
  kEasy,          // FCFS plus EASY backfilling around the head job's reservation
  kConservative,  // every pending job holds a reservation; backfill around all of them
};

std::string_view schedulerModeName(SchedulerMode mode);  // "fcfs" | "easy" | "conservative"

// The mode named by schedulerModeName(); kInvalidArgument naming the known ones.
Result<SchedulerMode> parseSchedulerMode(std::string_view name);

// Assigned by the scheduler in submission order, starting at 1.
using LocalJobId = uint64_t;

struct LocalJobRequest {
  int nodes = 1;         // whole nodes, 1..nodes of the partition
  Duration walltime{0};  // requested limit, > 0
  Duration runtime{0};   // how long the job would really run; >= 0 (0: ends at start)
  int priority = 0;      // higher starts first
};

enum class LocalEventKind {
  kStarted,
  kFinished,   // ran for its whole runtime (runtime <= walltime)
  kTimedOut,   // killed at its walltime (runtime > walltime)
  kCancelled,  // cancelled while pending or running
};

std::string_view localEventKindName(LocalEventKind kind);

struct LocalSchedulerEvent {
  LocalJobId job = 0;
  LocalEventKind kind = LocalEventKind::kStarted;
  Time at;

  bool operator==(const LocalSchedulerEvent&) const = default;
};

// The partition's state at one instant. Node counts partition the whole:
// nodes_total == nodes_idle + nodes_allocated + nodes_down + nodes_draining.
struct LocalSchedulerCounts {
  int nodes_total = 0;
  int nodes_idle = 0;
  int nodes_allocated = 0;  // running a job, staying in service
  int nodes_down = 0;       // out of service and empty
  int nodes_draining = 0;   // running a job, out of service once it ends
  int pending_jobs = 0;
  double pending_node_hours = 0;  // sum over pending jobs of nodes x walltime in hours
  int running_jobs = 0;

  bool operator==(const LocalSchedulerCounts&) const = default;
};

// When the head of the queue is expected to start at the latest, judging by
// the running jobs' requested ends. `at` is Time::max() when it cannot start until
// nodes come back into service.
struct HeadReservation {
  LocalJobId job = 0;
  Time at;

  bool operator==(const HeadReservation&) const = default;
};

class LocalScheduler {
 public:
  // `nodes` >= 1 (checked by the caller, see create()); asserted.
  LocalScheduler(int nodes, SchedulerMode mode);

  // Validating factory: kInvalidArgument if nodes < 1.
  static Result<LocalScheduler> create(int nodes, SchedulerMode mode);

  int nodes() const { return nodes_; }
  SchedulerMode mode() const { return mode_; }

  // Queues a job at `now` and starts whatever can start (possibly this job, at `now`).
  // kInvalidArgument if the job could never run here (nodes outside 1..nodes(),
  // walltime <= 0, runtime < 0). Events it causes are returned by the next advance().
  Result<LocalJobId> submit(const LocalJobRequest& request, Time now);

  // Cancels a pending or running job at `now`; the kCancelled event (and any start it
  // makes room for) comes out of the next advance(). OK with no effect for a job that
  // already ended; kNotFound for an id this scheduler never issued.
  Status cancel(LocalJobId id, Time now);

  // Takes `count` nodes out of service from `now` on (0 brings all back). Running jobs
  // are never killed: busy nodes go down only when their job ends, and meanwhile the
  // scheduler starts nothing on them. kInvalidArgument if count is outside 0..nodes().
  Status setNodesDown(int count, Time now);

  // Brings the model up to `now` and returns every event since the last advance(),
  // in the order they happened (ties: the order the scheduler processed them).
  std::vector<LocalSchedulerEvent> advance(Time now);

  // The earliest instant at which advance() has something to do on its own (a running
  // job ending), or nullopt when nothing runs. Events already waiting to be returned
  // are not counted: call advance() after every submit/cancel.
  std::optional<Time> nextEventTime() const;

  // The last instant the model was brought up to.
  Time now() const { return now_; }

  LocalSchedulerCounts counts() const;

  // The head of the queue's expected start (see HeadReservation), or nullopt if nothing
  // is pending.
  std::optional<HeadReservation> headReservation() const;

  // Every pending job's reservation by the conservative rules, in queue order: the
  // earliest instant it fits for its whole walltime around the running jobs' requested
  // ends and the reservations of the jobs ahead of it (Time::max() for a job needing
  // more nodes than are in service). In kConservative mode this is the plan the next
  // pass follows; in the other modes only the head's entry is honoured.
  std::vector<HeadReservation> reservations() const;

  // Pending job ids in queue order (the head first).
  std::vector<LocalJobId> pendingInOrder() const;

  bool isPending(LocalJobId id) const;
  bool isRunning(LocalJobId id) const;

 private:
  struct Job {
    LocalJobRequest request;
    std::optional<Time> started_at;
    Time ends_at;            // start + min(runtime, walltime), valid once started
    Time requested_end;      // start + walltime, valid once started
    bool times_out = false;  // runtime > walltime
  };
  // Queue key: (-priority, id), so std::set order is the queue order.
  using QueueKey = std::pair<int64_t, LocalJobId>;

  void bringUpTo(Time now);
  void schedule(Time now);
  void start(LocalJobId id, Job& job, Time now);
  void finish(LocalJobId id, LocalEventKind kind, Time at);
  int freeNodes() const;
  // Shadow time and extra nodes for a head job needing `head_nodes`.
  std::pair<Time, int> shadow(int head_nodes) const;
  // Conservative backfilling: the reservation of every pending job, in queue order.
  // With `until_full`, stops at the first job after which no node is free now (the
  // jobs after it cannot start now, which is all a pass needs to know).
  std::vector<HeadReservation> conservativePlan(bool until_full) const;
  static QueueKey queueKey(LocalJobId id, const LocalJobRequest& r) {
    return {-static_cast<int64_t>(r.priority), id};
  }

  int nodes_;
  SchedulerMode mode_;
  int nodes_down_target_ = 0;  // nodes asked to be out of service
  int allocated_ = 0;          // nodes held by running jobs
  int64_t pending_node_ms_ = 0;
  LocalJobId next_id_ = 1;
  Time now_{};
  std::map<LocalJobId, Job> jobs_;                      // pending and running only
  std::set<QueueKey> queue_;                            // pending, in queue order
  std::set<std::pair<Time, LocalJobId>> ends_;          // running, by actual end
  std::multiset<std::pair<Time, int>> requested_ends_;  // running: (start + walltime, nodes)
  std::vector<LocalSchedulerEvent> events_;             // not yet returned by advance()
};

}  // namespace aifed::agent
