// The broker's job transitions: the one place a job's state changes (transition()), and
// the changes of a job's attempt built on it (dispatch, loss, withdrawal).
#include <algorithm>

#include "coordinator/broker/broker_impl.h"

namespace aifed::broker {
namespace {

double hours(Duration d) {
  return std::chrono::duration<double>(d).count() / 3600.0;
}

void exclude(JobRecord& j, const std::string& site) {
  if (std::find(j.excluded_sites.begin(), j.excluded_sites.end(), site) == j.excluded_sites.end()) {
    j.excluded_sites.push_back(site);
  }
}

}  // namespace

bool Broker::Impl::needsResend(const JobRecord& j) {
  return isActiveState(j.state) &&
         (j.state == JobState::kDispatched || j.cancel_requested || j.withdrawing);
}

Status Broker::Impl::transition(JobRecord& j, int64_t seq, JobEvent event, Instant now,
                                JobState reported) {
  JobState before = j.state;
  if (Status s = applyJobEvent(j, event, now.wall, reported); !s.ok()) {
    if (cfg.report_bug) cfg.report_bug(s.message());
    return s;
  }
  if (before == JobState::kQueued && j.state != JobState::kQueued) {
    if (!waits.remove(seq)) queue.remove(seq, j.spec.priority);
  }
  // The jobs depending on one that ended are examined on the next tick.
  if (isTerminal(j.state) && !isTerminal(before)) waits.ended(j.id);
  arrays.stateChanged(j, before, j.state);
  if (j.state == JobState::kQueued && before != JobState::kQueued) {
    queue.add(seq, j.spec.priority);
  }
  jobs.stateChanged(seq, before, j.state);
  if (!j.withdrawing) withdraw_why.erase(seq);
  if (!isActiveState(j.state)) missing_since.erase(seq);
  // A command stays outstanding only while the job is in a phase that waits on it; the
  // caller that sends a new one records it (retries.sent).
  if (!needsResend(j)) retries.settle(seq);
  if (isTerminal(j.state)) {
    reservations.release(j.id);
    if (!records->keepsEndedJobs()) ended_now.push_back(seq);
  }
  allocations.recharge(seq, j);
  return Status::Ok();
}

void Broker::Impl::refreshed(JobRecord& j, int64_t seq, Instant now) {
  j.updated_at = now.wall;
  // Recharged as on a transition, so the ledger's sums come out the same to the last bit
  // whichever way a job's report arrives.
  allocations.recharge(seq, j);
}

void Broker::Impl::dispatch(JobRecord& j, int64_t seq, PlacementDecision& d,
                            const std::string& partition, Instant now, Effects& fx) {
  j.attempt += 1;
  j.site = d.chosen_site;
  j.local_id.clear();
  j.reason = d.summary;
  j.dispatched_at = now.wall;
  j.last_sent_at = now.wall;
  j.started_at.reset();
  j.ended_at.reset();
  j.exit_code.reset();
  j.status_seq = 0;  // a new attempt numbers its statuses anew
  j.at_site = {};
  (void)transition(j, seq, JobEvent::kPlace, now);
  d.attempt = j.attempt;
  allocations.addDispatch(j.spec, now.wall);
  reservations.reserve(j.id, siteOf(j), partition, j.spec.nodes,
                       j.spec.nodes * hours(j.spec.walltime), now.mono);
  retries.sent(seq, now.mono);
  send(j.site, dispatchOf(j), fx);
  emit(j, fx);
}

void Broker::Impl::loseJob(JobRecord& j, int64_t seq, const std::string& why, Instant now,
                           Effects& fx) {
  reservations.release(j.id);
  missing_since.erase(seq);
  JobEvent event = JobEvent::kLose;
  if (j.cancel_requested) {
    j.reason = why + "; it was being cancelled";  // the table ends it `cancelled`
  } else if (j.spec.requeue_on_site_loss && j.attempt < cfg.max_attempts) {
    event = JobEvent::kLoseRequeue;
    j.reason = why + "; re-queued";
    j.site.clear();
    j.local_id.clear();
    j.started_at.reset();
  } else {
    j.reason = why;
  }
  (void)transition(j, seq, event, now);
  emit(j, fx);
}

void Broker::Impl::completeWithdrawal(JobRecord& j, int64_t seq, Instant now, Effects& fx) {
  auto why = withdraw_why.find(seq);
  std::string reason =
      why != withdraw_why.end() ? why->second : "withdrawn from " + j.site + " while pending";
  reservations.release(j.id);
  exclude(j, j.site);
  j.reason = reason;
  j.site.clear();
  j.local_id.clear();
  j.started_at.reset();
  j.ended_at.reset();
  j.exit_code.reset();
  (void)transition(j, seq, JobEvent::kWithdrawn, now);
  emit(j, fx);
}

void Broker::Impl::dropEnded() {
  for (int64_t seq : ended_now) {
    auto it = jobs.all().find(seq);
    if (it == jobs.all().end() || !isTerminal(it->second.state)) continue;
    const JobRecord& j = it->second;
    // transition() released what an ended job held (reservation, retries, reconciliation
    // and withdrawal entries). Its charge stays in the ledger (recharge() made it final),
    // and its fair-share usage too.
    std::optional<size_t> site = j.site.empty() ? std::nullopt : sites.find(j.site);
    records->forgetDecisions(j.id);
    queue.forget(seq);
    allocations.forget(seq);
    jobs.drop(seq, site ? static_cast<int32_t>(*site) : -1);
  }
  ended_now.clear();
}

}  // namespace aifed::broker
