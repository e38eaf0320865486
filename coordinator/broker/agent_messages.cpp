// The broker's handling of agent messages: HELLO (a session, and reconciliation of what
// the agent holds), CAPACITY, DISPATCH_ACK and JOB_STATUS. A message never moves a job
// backwards: a report older than what the broker knows is acknowledged and ignored.
#include <algorithm>
#include <cstdlib>
#include <set>

#include "coordinator/broker/broker_impl.h"

#ifndef AIFED_VERSION
#define AIFED_VERSION "0.0.0"
#endif

namespace aifed::broker {
namespace {

// How far a job has got at its site; a report never moves a job back.
int progressRank(JobState s) {
  switch (s) {
    case JobState::kQueued:
    case JobState::kDispatched:
      return 0;
    case JobState::kPending:
      return 1;
    case JobState::kRunning:
      return 2;
    default:
      return 3;
  }
}

// The event for a site reporting `reported` (of a higher rank than the job's state).
JobEvent eventFor(JobState reported) {
  if (reported == JobState::kPending) return JobEvent::kReportPending;
  if (reported == JobState::kRunning) return JobEvent::kStart;
  return JobEvent::kEnd;
}

// The version both sides speak: the lower minor of the same major (decoding refused any
// other major).
std::string negotiatedVersion(const std::string& peer) {
  size_t dot = peer.find('.');
  int minor = dot == std::string::npos ? 0 : std::atoi(peer.c_str() + dot + 1);
  if (minor >= kProtocolMinor) return protocolVersionString();
  return std::to_string(kProtocolMajor) + "." + std::to_string(std::max(0, minor));
}

AttemptAtSite atSite(const DispatchAck& a) {
  return {a.local_user, a.account, a.stdout_path, a.stderr_path, std::nullopt};
}

}  // namespace

void Broker::Impl::onMessage(size_t i, Message&& message, Instant now, Effects& fx) {
  sites.heard(i, now);
  const std::string& site = sites.record(i).id;
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, Hello>) {
          onHello(i, message.v, body, now, fx);
        } else if constexpr (std::is_same_v<T, Capacity>) {
          onCapacity(i, message.msg_id, body, now, fx);
        } else if constexpr (std::is_same_v<T, Heartbeat>) {
          bool changed = sites.markUp(i, now);
          if (body.health) changed = sites.setAgentHealth(i, *body.health, now.wall) || changed;
          if (changed) emitSite(i, fx);
          // The agent's half of the job lease counts from acknowledged heartbeats.
          send(site, Ack{message.msg_id}, fx);
        } else if constexpr (std::is_same_v<T, DispatchAck>) {
          if (sites.markUp(i, now)) emitSite(i, fx);
          onDispatchAck(i, body, now, fx);
        } else if constexpr (std::is_same_v<T, JobStatus>) {
          if (sites.markUp(i, now)) emitSite(i, fx);
          onJobStatus(i, message, body, now, fx);
        } else if constexpr (std::is_same_v<T, JobUsage>) {
          onJobUsage(i, message, body, now, fx);
        } else if constexpr (std::is_same_v<T, Ack> || std::is_same_v<T, ErrorReply>) {
          // CANCEL is retried until the terminal JOB_STATUS arrives, so its ACK needs no
          // bookkeeping; an agent's ERROR is logged by the daemon.
        } else {
          send(site,
               ErrorReply{
                   "bad_message",
                   std::string(messageTypeName(message.body)) + " is not sent to a coordinator",
                   "type", message.msg_id},
               fx);
        }
      },
      message.body);
}

void Broker::Impl::onHello(size_t i, const std::string& peer_version, const Hello& h, Instant now,
                           Effects& fx) {
  const std::string& site = sites.record(i).id;
  sites.startSession(i, h.agent_version, h.incarnation, now);
  sites.setRules(i, h.rules);
  Welcome w;
  w.coordinator_version = AIFED_VERSION;
  w.protocol_version = negotiatedVersion(peer_version);
  w.heartbeat_interval = cfg.heartbeat_interval;
  w.capacity_interval = cfg.heartbeat_interval * 6;
  w.job_lease = cfg.lost_lease;
  send(site, w, fx);
  sites.markUp(i, now);

  // Reconcile what the agent holds with what we believe it holds.
  std::set<std::pair<std::string, int>> reported;
  for (const JobReport& r : h.jobs) {
    reported.insert({r.job_id, r.attempt});
    if (unknown(r.job_id)) {
      quarantineReport(i, r.job_id, r.attempt, r.local_id, r.state, now, fx);
      continue;
    }
    std::optional<int64_t> seq = jobs.seqOf(r.job_id);
    JobRecord* j = seq ? &jobs.at(*seq) : nullptr;
    if (!j || j->attempt != r.attempt || j->site != site || isTerminal(j->state)) {
      send(site, Cancel{r.job_id, r.attempt, "the coordinator does not expect this attempt here"},
           fx);
      continue;
    }
    missing_since.erase(*seq);
    if (r.seq != 0 && r.seq < j->status_seq) continue;  // older than what we know
    j->status_seq = std::max(j->status_seq, r.seq);
    if (r.state == JobState::kLost) {
      // The agent restarted and its scheduler no longer holds the attempt.
      loseJob(*j, *seq, "site " + site + " no longer holds attempt " + std::to_string(j->attempt),
              now, fx);
      continue;
    }
    if (!r.local_id.empty()) j->local_id = r.local_id;
    if (j->state == JobState::kDispatched) {
      reservations.acknowledge(j->id, sites.epoch(i));
      sites.countPlacement(i);
    }
    if (progressRank(r.state) > progressRank(j->state) && !isTerminal(r.state)) {
      (void)transition(*j, *seq, eventFor(r.state), now);
    }
    emit(*j, fx);
  }
  for (int64_t seq : jobs.active()) {
    JobRecord& j = jobs.at(seq);
    if (j.site != site || reported.count({j.id, j.attempt})) continue;
    if (j.state == JobState::kDispatched) {
      retries.dueNow(seq);  // resend on this tick
    } else {
      missing_since.emplace(seq, now.mono);
    }
  }
  // Quarantined attempts the site no longer lists have left it.
  for (const auto& [key, q] : quarantine.all()) {
    if (q.site != site || isTerminal(q.state) || reported.count({q.job_id, q.attempt})) continue;
    quarantineReport(i, q.job_id, q.attempt, "", JobState::kLost, now, fx);
  }
  cancelQuarantined(i, now, /*all=*/true, fx);
  emitSite(i, fx);
}

void Broker::Impl::quarantineReport(size_t i, const std::string& job_id, int attempt,
                                    const std::string& local_id, JobState state, Instant now,
                                    Effects& fx) {
  const std::string& site = sites.record(i).id;
  if (!quarantine.report(site, job_id, attempt, local_id, state, now.wall)) return;
  fx.quarantined.push_back(*quarantine.find({site, job_id, attempt}));
  // Its id was handed out once, by some earlier life of this federation: never again.
  jobs.reserveSequence(quarantine.highestSeq() + 1);
}

void Broker::Impl::cancelQuarantined(size_t i, Instant now, bool all, Effects& fx) {
  if (!sites.canSend(i)) return;
  for (const QuarantinedJob* q : quarantine.cancelling(sites.record(i).id)) {
    Quarantine::Key key{q->site, q->job_id, q->attempt};
    if (!all && !quarantine.cancelDue(key, now.mono, cfg.retry_interval)) continue;
    quarantine.sent(key, now.mono);
    send(q->site,
         Cancel{q->job_id, q->attempt,
                "cancelled by " + q->decided_by + ": the coordinator has no record of this job"},
         fx);
  }
}

void Broker::Impl::onCapacity(size_t i, const std::string& msg_id, Capacity& c, Instant now,
                              Effects& fx) {
  bool changed = sites.markUp(i, now);
  if (c.health) changed = sites.setAgentHealth(i, *c.health, now.wall) || changed;
  if (changed) emitSite(i, fx);
  Result<bool> taken = sites.applyCapacity(i, c, &c, now);
  if (!taken.ok()) {
    // Not taken: placement keeps using the site's last valid report.
    send(sites.record(i).id,
         ErrorReply{"bad_capacity", taken.status().message(), taken.status().field(), msg_id}, fx);
    return;
  }
  if (!*taken) return;  // a late duplicate
  reservations.onReport(i, sites.record(i).capacity->epoch);
  emitSite(i, fx);
}

void Broker::Impl::onDispatchAck(size_t i, const DispatchAck& a, Instant now, Effects& fx) {
  const std::string& site = sites.record(i).id;
  std::optional<int64_t> seq = jobs.seqOf(a.job_id);
  JobRecord* j = seq ? &jobs.at(*seq) : nullptr;
  if (const JobTable::Ended* e = j ? nullptr : jobs.ended(a.job_id);
      e && e->attempt == a.attempt && e->site == static_cast<int32_t>(i)) {
    return;  // a repeated ack of an attempt that has ended
  }
  if (!j && unknown(a.job_id)) {
    if (a.accepted)
      quarantineReport(i, a.job_id, a.attempt, a.local_id, JobState::kPending, now, fx);
    return;
  }
  if (!j || j->attempt != a.attempt || j->site != site) {
    // An attempt we no longer want there.
    if (a.accepted) send(site, Cancel{a.job_id, a.attempt, "attempt superseded"}, fx);
    return;
  }
  if (j->state != JobState::kDispatched) {
    if (a.accepted && j->local_id.empty() && !a.local_id.empty()) {
      j->local_id = a.local_id;
      j->at_site = atSite(a);
      emit(*j, fx);
    }
    return;  // a repeated ack
  }
  if (a.accepted) {
    j->local_id = a.local_id;
    j->at_site = atSite(a);
    if (!j->cancel_requested) j->reason.clear();
    (void)transition(*j, *seq, JobEvent::kAccept, now);
    reservations.acknowledge(j->id, sites.epoch(i));
    sites.countPlacement(i);
    emitSite(i, fx);
    if (j->cancel_requested) {
      j->last_sent_at = now.wall;
      retries.sent(*seq, now.mono);
      send(site, Cancel{j->id, j->attempt, cancelReason(*j)}, fx);
    }
    emit(*j, fx);
    return;
  }
  reservations.release(j->id);
  if (std::find(j->excluded_sites.begin(), j->excluded_sites.end(), site) ==
      j->excluded_sites.end()) {
    j->excluded_sites.push_back(site);
  }
  j->reason = "refused by " + site + ": " + a.reason;
  j->site.clear();
  bool last = j->attempt >= cfg.max_attempts;
  if (last && !j->cancel_requested) {
    j->reason += " (after " + std::to_string(j->attempt) + " attempts)";
  }
  (void)transition(*j, *seq, last ? JobEvent::kRefuseFail : JobEvent::kRefuseRequeue, now);
  emit(*j, fx);
}

void Broker::Impl::onJobStatus(size_t i, const Message& m, const JobStatus& st, Instant now,
                               Effects& fx) {
  const std::string& site = sites.record(i).id;
  // Acknowledged once the effects are durable (the caller persists before sending).
  send(site, Ack{m.msg_id}, fx);
  std::optional<int64_t> seq = jobs.seqOf(st.job_id);
  JobRecord* j = seq ? &jobs.at(*seq) : nullptr;
  if (const JobTable::Ended* e = j ? nullptr : jobs.ended(st.job_id);
      e && e->attempt == st.attempt && e->site == static_cast<int32_t>(i)) {
    return;  // the job has ended already
  }
  if (!j && unknown(st.job_id)) {
    quarantineReport(i, st.job_id, st.attempt, st.local_id, st.state, now, fx);
    return;
  }
  if (!j || j->attempt != st.attempt || j->site != site) {
    if (!isTerminal(st.state)) send(site, Cancel{st.job_id, st.attempt, "attempt superseded"}, fx);
    return;
  }
  if (isTerminal(j->state) || !isSiteReportable(st.state)) return;
  // An older status of this attempt (a resend from the agent's outbox that a newer
  // status or a HELLO has overtaken): acknowledged above, never applied.
  if (st.seq != 0 && st.seq <= j->status_seq) return;
  if (progressRank(st.state) < progressRank(j->state)) return;  // late report (1.0 agents)
  j->status_seq = std::max(j->status_seq, st.seq);
  if (j->state == JobState::kDispatched) {
    reservations.acknowledge(j->id, sites.epoch(i));
    sites.countPlacement(i);
    emitSite(i, fx);
  }
  missing_since.erase(*seq);
  if (st.state == JobState::kLost) {
    // The site stopped it without an end of its own (its job lease ran out) or lost it.
    loseJob(*j, *seq, "site " + site + ": " + (st.reason.empty() ? "lost" : st.reason), now, fx);
    return;
  }
  if (st.state == JobState::kCancelled && j->withdrawing && !j->cancel_requested) {
    completeWithdrawal(*j, *seq, now, fx);
    return;
  }
  if (!st.local_id.empty()) j->local_id = st.local_id;
  if (st.started_at) j->started_at = st.started_at;
  if (st.ended_at) j->ended_at = st.ended_at;
  if (st.exit_code) j->exit_code = st.exit_code;
  // The site's word on the current state, or none; while a user's cancel is outstanding
  // and when it ends the job, the reason stays "cancelled by <user>".
  if (!j->cancel_requested || (isTerminal(st.state) && st.state != JobState::kCancelled)) {
    j->reason = st.reason;
  }
  if (st.state == j->state) {
    refreshed(*j, *seq, now);
  } else {
    (void)transition(*j, *seq, eventFor(st.state), now, st.state);
  }
  emit(*j, fx);
}

void Broker::Impl::onJobUsage(size_t i, const Message& m, const JobUsage& u, Instant now,
                              Effects& fx) {
  const std::string& site = sites.record(i).id;
  send(site, Ack{m.msg_id}, fx);  // once durable, like JOB_STATUS; a repeat sets the same
  std::optional<int64_t> seq = jobs.seqOf(u.job_id);
  JobRecord* j = seq ? &jobs.at(*seq) : nullptr;
  // Only the current attempt is charged (an earlier one, lost or refused, was not the
  // project's doing); a job no longer held in memory keeps its final charge.
  if (!j || j->attempt != u.attempt || j->site != site || !isTerminal(j->state)) return;
  if (u.elapsed < Duration::zero() || u.nodes < 0 || u.gpus < 0 ||
      u.elapsed > kMaxWalltime * 2) {
    send(site, ErrorReply{"bad_message", "JOB_USAGE of " + u.job_id + " is out of range", "body",
                          m.msg_id},
         fx);
    return;
  }
  j->at_site.usage = SiteUsage{u.source, u.elapsed, u.nodes, u.gpus, u.tres, u.state};
  if (!u.local_user.empty()) j->at_site.local_user = u.local_user;
  if (!u.account.empty()) j->at_site.account = u.account;
  refreshed(*j, *seq, now);
  emit(*j, fx);
}

}  // namespace aifed::broker
