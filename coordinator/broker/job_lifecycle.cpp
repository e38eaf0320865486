#include "coordinator/broker/job_lifecycle.h"

#include <array>
#include <cassert>
#include <string>

namespace aifed::broker {
namespace {

using P = JobPhase;
using E = JobEvent;
constexpr JobState kReported = JobState::kQueued;  // kEnd: the state the site reported

// The table. docs/placement.md draws it; tests/broker/job_lifecycle_test.cpp has a row
// per edge and checks every pair not listed here is refused.
constexpr std::array kEdges = {
    JobEdge{P::kQueued, E::kPlace, P::kDispatched},
    JobEdge{P::kQueued, E::kCancelQueued, P::kEnded, JobState::kCancelled},

    JobEdge{P::kDispatched, E::kAccept, P::kPending},
    JobEdge{P::kDispatched, E::kReportPending, P::kPending},
    JobEdge{P::kDispatched, E::kStart, P::kRunning},
    JobEdge{P::kDispatched, E::kEnd, P::kEnded, kReported},
    JobEdge{P::kDispatched, E::kRefuseRequeue, P::kQueued},
    JobEdge{P::kDispatched, E::kRefuseFail, P::kEnded, JobState::kFailed},
    JobEdge{P::kDispatched, E::kRequestCancel, P::kDispatchedCancelling},
    JobEdge{P::kDispatched, E::kLoseRequeue, P::kQueued},
    JobEdge{P::kDispatched, E::kLose, P::kEnded, JobState::kLost},

    JobEdge{P::kPending, E::kStart, P::kRunning},
    JobEdge{P::kPending, E::kEnd, P::kEnded, kReported},
    JobEdge{P::kPending, E::kRequestCancel, P::kPendingCancelling},
    JobEdge{P::kPending, E::kRequestWithdraw, P::kPendingWithdrawing},
    JobEdge{P::kPending, E::kLoseRequeue, P::kQueued},
    JobEdge{P::kPending, E::kLose, P::kEnded, JobState::kLost},

    JobEdge{P::kPendingWithdrawing, E::kWithdrawn, P::kQueued},
    JobEdge{P::kPendingWithdrawing, E::kStart, P::kRunning},
    JobEdge{P::kPendingWithdrawing, E::kEnd, P::kEnded, kReported},
    JobEdge{P::kPendingWithdrawing, E::kRequestCancel, P::kPendingCancelling},
    JobEdge{P::kPendingWithdrawing, E::kLoseRequeue, P::kQueued},
    JobEdge{P::kPendingWithdrawing, E::kLose, P::kEnded, JobState::kLost},

    JobEdge{P::kRunning, E::kEnd, P::kEnded, kReported},
    JobEdge{P::kRunning, E::kRequestCancel, P::kRunningCancelling},
    JobEdge{P::kRunning, E::kLoseRequeue, P::kQueued},
    JobEdge{P::kRunning, E::kLose, P::kEnded, JobState::kLost},

    // A user's cancel wins: while it is outstanding nothing re-places the job.
    JobEdge{P::kDispatchedCancelling, E::kAccept, P::kPendingCancelling},
    JobEdge{P::kDispatchedCancelling, E::kReportPending, P::kPendingCancelling},
    JobEdge{P::kDispatchedCancelling, E::kStart, P::kRunningCancelling},
    JobEdge{P::kDispatchedCancelling, E::kEnd, P::kEnded, kReported},
    JobEdge{P::kDispatchedCancelling, E::kRefuseRequeue, P::kEnded, JobState::kCancelled},
    JobEdge{P::kDispatchedCancelling, E::kRefuseFail, P::kEnded, JobState::kCancelled},
    JobEdge{P::kDispatchedCancelling, E::kRequestCancel, P::kDispatchedCancelling},
    JobEdge{P::kDispatchedCancelling, E::kLoseRequeue, P::kEnded, JobState::kCancelled},
    JobEdge{P::kDispatchedCancelling, E::kLose, P::kEnded, JobState::kCancelled},

    JobEdge{P::kPendingCancelling, E::kStart, P::kRunningCancelling},
    JobEdge{P::kPendingCancelling, E::kEnd, P::kEnded, kReported},
    JobEdge{P::kPendingCancelling, E::kRequestCancel, P::kPendingCancelling},
    JobEdge{P::kPendingCancelling, E::kLoseRequeue, P::kEnded, JobState::kCancelled},
    JobEdge{P::kPendingCancelling, E::kLose, P::kEnded, JobState::kCancelled},

    JobEdge{P::kRunningCancelling, E::kEnd, P::kEnded, kReported},
    JobEdge{P::kRunningCancelling, E::kRequestCancel, P::kRunningCancelling},
    JobEdge{P::kRunningCancelling, E::kLoseRequeue, P::kEnded, JobState::kCancelled},
    JobEdge{P::kRunningCancelling, E::kLose, P::kEnded, JobState::kCancelled},
};

// The JobState and sub-state flags of a non-terminal phase.
void setPhase(JobRecord& j, JobPhase p) {
  j.cancel_requested = false;
  j.withdrawing = false;
  switch (p) {
    case P::kQueued:
      j.state = JobState::kQueued;
      break;
    case P::kDispatchedCancelling:
      j.cancel_requested = true;
      [[fallthrough]];
    case P::kDispatched:
      j.state = JobState::kDispatched;
      break;
    case P::kPendingCancelling:
      j.cancel_requested = true;
      j.state = JobState::kPending;
      break;
    case P::kPendingWithdrawing:
      j.withdrawing = true;
      [[fallthrough]];
    case P::kPending:
      j.state = JobState::kPending;
      break;
    case P::kRunningCancelling:
      j.cancel_requested = true;
      [[fallthrough]];
    case P::kRunning:
      j.state = JobState::kRunning;
      break;
    case P::kEnded:
      break;  // the caller sets the terminal state
  }
}

}  // namespace

std::string_view jobPhaseName(JobPhase phase) {
  switch (phase) {
    case P::kQueued:
      return "queued";
    case P::kDispatched:
      return "dispatched";
    case P::kPending:
      return "pending";
    case P::kRunning:
      return "running";
    case P::kDispatchedCancelling:
      return "dispatched·cancelling";
    case P::kPendingCancelling:
      return "pending·cancelling";
    case P::kRunningCancelling:
      return "running·cancelling";
    case P::kPendingWithdrawing:
      return "pending·withdrawing";
    case P::kEnded:
      return "ended";
  }
  return "?";
}

std::string_view jobEventName(JobEvent event) {
  switch (event) {
    case E::kPlace:
      return "place";
    case E::kAccept:
      return "accept";
    case E::kReportPending:
      return "report-pending";
    case E::kStart:
      return "start";
    case E::kEnd:
      return "end";
    case E::kRefuseRequeue:
      return "refuse-requeue";
    case E::kRefuseFail:
      return "refuse-fail";
    case E::kCancelQueued:
      return "cancel-queued";
    case E::kRequestCancel:
      return "request-cancel";
    case E::kRequestWithdraw:
      return "request-withdraw";
    case E::kWithdrawn:
      return "withdrawn";
    case E::kLoseRequeue:
      return "lose-requeue";
    case E::kLose:
      return "lose";
  }
  return "?";
}

JobPhase phaseOf(const JobRecord& j) {
  switch (j.state) {
    case JobState::kQueued:
      return P::kQueued;
    case JobState::kDispatched:
      return j.cancel_requested ? P::kDispatchedCancelling : P::kDispatched;
    case JobState::kPending:
      if (j.cancel_requested) return P::kPendingCancelling;
      return j.withdrawing ? P::kPendingWithdrawing : P::kPending;
    case JobState::kRunning:
      return j.cancel_requested ? P::kRunningCancelling : P::kRunning;
    default:
      return P::kEnded;
  }
}

std::span<const JobEdge> jobLifecycleEdges() {
  return kEdges;
}

std::optional<JobEdge> findJobEdge(JobPhase from, JobEvent event) {
  for (const JobEdge& e : kEdges) {
    if (e.from == from && e.event == event) return e;
  }
  return std::nullopt;
}

Status applyJobEvent(JobRecord& job, JobEvent event, Time now, JobState reported) {
  JobPhase from = phaseOf(job);
  std::optional<JobEdge> edge = findJobEdge(from, event);
  if (!edge || (edge->to == P::kEnded && edge->ended_as == kReported && !isTerminal(reported))) {
    // The broker's handlers check a job's phase before they raise an event: reaching
    // here is a bug in them, never a peer's doing (stale reports are filtered first).
    assert(false && "illegal job life cycle transition");
    return failedPrecondition("job " + job.id + ": no transition from " +
                              std::string(jobPhaseName(from)) + " on " +
                              std::string(jobEventName(event)));
  }
  if (edge->to == P::kEnded) {
    job.state = edge->ended_as == kReported ? reported : edge->ended_as;
    job.cancel_requested = false;
    job.withdrawing = false;
    if (!job.ended_at) job.ended_at = now;
  } else {
    setPhase(job, edge->to);
  }
  job.updated_at = now;
  return Status::Ok();
}

}  // namespace aifed::broker
