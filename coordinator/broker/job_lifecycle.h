// The job life cycle: every phase a job goes through at the coordinator and the events
// that move it, as one table (kEdges in job_lifecycle.cpp). The broker changes a job's
// state only through applyJobEvent(); anything else (a report that repeats the state a
// job is in, a report older than it) is not a transition and never reaches this table.
//
//             place              accept, report-pending          start
//   queued ───────────> dispatched ───────────────────> pending ─────────> running
//    ^  │                │   │ └──────────────── start ───────────────────────^
//    │  │ cancel-queued  │   │ refuse-fail                │ request-withdraw  │
//    │  v                │   v                            v                   │
//    │ cancelled         │  failed               pending·withdrawing ── start ┘
//    │                   │                                │
//    ├── refuse-requeue ─┘                                │
//    ├── withdrawn ───────────────────────────────────────┘
//    └── lose-requeue ── from dispatched, pending, pending·withdrawing, running
//
//   end:  dispatched, pending, pending·withdrawing, running ──> completed | failed
//         | cancelled | timeout | node_fail   (the state the site reports)
//   lose: dispatched, pending, pending·withdrawing, running ──> lost
//   request-cancel: dispatched, pending, pending·withdrawing, running ──> that phase
//         ·cancelling (a CANCEL is outstanding)
//   ·cancelling: accept, report-pending and start move along the ·cancelling phases;
//         end ends as reported; refuse-* and lose* end it `cancelled` (a user's cancel
//         wins over re-placing); request-cancel stays (the CANCEL is sent again).
//
// An event the table does not list for the job's phase is a bug in the caller: an
// assertion in Debug builds, a refused no-op (kFailedPrecondition) in Release.
//
//   if (Status s = applyJobEvent(job, JobEvent::kAccept, now); !s.ok()) log(s);
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "coordinator/broker/records.h"
#include "protocol/status.h"

namespace aifed::broker {

// Where a job is in its life cycle: its JobState with the command outstanding for it.
enum class JobPhase {
  kQueued,
  kDispatched,
  kPending,
  kRunning,
  kDispatchedCancelling,  // a CANCEL is outstanding (cancel_requested)
  kPendingCancelling,
  kRunningCancelling,
  kPendingWithdrawing,  // a CANCEL only_if_pending is outstanding (withdrawing)
  kEnded,               // any terminal state
};

enum class JobEvent {
  kPlace,            // the policy chose a site: DISPATCH sent
  kAccept,           // DISPATCH_ACK accepted
  kReportPending,    // the site reports it pending before its DISPATCH_ACK arrived
  kStart,            // the site reports it running
  kEnd,              // the site reports a terminal state (the end state given)
  kRefuseRequeue,    // DISPATCH_ACK refused; attempts are left: back to the queue
  kRefuseFail,       // DISPATCH_ACK refused; no attempts left
  kCancelQueued,     // a user cancelled it before it was placed
  kRequestCancel,    // a user cancelled it while a site holds it: CANCEL sent
  kRequestWithdraw,  // taken back from a site where it waits (CANCEL only_if_pending)
  kWithdrawn,        // the site cancelled it as asked: nobody holds it now
  kLoseRequeue,      // its site lost it (lease, reconciliation); it may be placed again
  kLose,             // its site lost it and it may not be placed again
};

std::string_view jobPhaseName(JobPhase phase);
std::string_view jobEventName(JobEvent event);

JobPhase phaseOf(const JobRecord& job);

// One row of the table: `event` in phase `from` leads to `to`. For `to == kEnded` the
// job ends as `ended_as`, or as the state the site reported when `ended_as` is
// kQueued (the event kEnd).
struct JobEdge {
  JobPhase from;
  JobEvent event;
  JobPhase to;
  JobState ended_as = JobState::kQueued;
};

// Every legal transition, in the order of the table (documentation and tests).
std::span<const JobEdge> jobLifecycleEdges();

// The edge for (`from`, `event`), or nullopt when the table has none.
std::optional<JobEdge> findJobEdge(JobPhase from, JobEvent event);

// Moves `job` along the edge for its phase and `event`: sets state, cancel_requested,
// withdrawing and updated_at, and ended_at (when not set yet) on reaching a terminal
// state. `reported` is the terminal state for kEnd (ignored otherwise) and must be
// terminal. An illegal pair changes nothing: kFailedPrecondition naming the phase and
// the event (and an assertion failure in Debug builds).
Status applyJobEvent(JobRecord& job, JobEvent event, Time now,
                     JobState reported = JobState::kCompleted);

}  // namespace aifed::broker
