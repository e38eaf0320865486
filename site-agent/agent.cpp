#include "site-agent/agent.h"
#include "site-agent/usage_reports.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace aifed::agent {
namespace {

bool sameCapacity(const SiteCapacity& a, const SiteCapacity& b) {
  return a.partitions == b.partitions;  // epochs differ by construction
}

std::string formatDuration(Duration d) {
  int64_t s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return s % 3600 == 0 ? std::to_string(s / 3600) + " h" : std::to_string(s) + " s";
}

}  // namespace

SiteAgent::SiteAgent(SiteAgentOptions options, Backend& backend, AgentStore& store, SendFn send)
    : options_(std::move(options)),
      backend_(backend),
      store_(store),
      send_(std::move(send)),
      commands_(
          backend, store, [this](const std::string& what) { logError(what); },
          options_.admission),
      output_({.hard_cap = options_.output_max_bytes}) {}

Status SiteAgent::start(Instant now) {
  Result<uint64_t> incarnation = store_.startIncarnation();
  if (!incarnation.ok()) return incarnation.status();
  incarnation_ = *incarnation;
  Result<uint64_t> epoch = store_.loadEpoch();
  if (!epoch.ok()) return epoch.status();
  epoch_ = *epoch;
  Result<AgentStore::LeaseState> lease = store_.loadLease();
  if (!lease.ok()) return lease.status();
  RETURN_IF_ERROR(restoreMaintenance());
  lease_.restore(lease->lease, lease->last_contact, now);

  // Jobs this agent accepted that the backend no longer holds cannot be followed: HELLO
  // reports them lost, numbered after every status sent before (a resend of one of those
  // from the outbox is then older than the HELLO's word), and the coordinator re-places or
  // fails them.
  Result<std::vector<DispatchRecord>> active = store_.activeDispatches();
  if (!active.ok()) return active.status();
  std::set<std::string> held;
  for (const LocalJobUpdate& j : backend_.activeJobs()) held.insert(j.local_id);
  for (DispatchRecord r : *active) {
    if (held.count(r.local_id)) continue;
    if (r.accepted && !r.local_id.empty() && backend_.adopt(r.tag, r.local_id)) continue;
    spdlog::warn("job {} attempt {} (local {}) is no longer held by the {} backend", r.tag.job_id,
                 r.tag.attempt, r.local_id, backend_.kind());
    r.state = JobState::kLost;
    r.updated_at = now.wall;
    r.status_seq += 1;
    if (Status s = store_.saveDispatch(r); !s.ok()) return s;
    lost_at_start_.push_back({r.tag.job_id, r.tag.attempt, r.local_id, r.state, r.status_seq});
  }
  spdlog::info(
      "agent incarnation {} starting; job lease {}", incarnation_,
      lease_.lease() > Duration::zero() ? formatDuration(lease_.lease()) : "not known yet");
  sendHello(now);
  return Status::Ok();
}

std::string SiteAgent::nextMsgId() {
  // The incarnation makes ids unique across restarts, whatever the wall clock does.
  return options_.site + "-" + std::to_string(incarnation_) + "-" + std::to_string(++msg_counter_);
}

Message SiteAgent::envelope(Body body, Instant now) {
  return makeMessage(options_.site, nextMsgId(), now.wall, std::move(body));
}

std::string SiteAgent::send(Body body, Instant now) {
  Message m = envelope(std::move(body), now);
  Status s = send_(encodeMessage(m));
  if (!s.ok()) spdlog::debug("send deferred: {}", s.toString());
  return m.msg_id;
}

void SiteAgent::sendDurably(Body body, Instant now) {
  Message m = envelope(std::move(body), now);
  std::string frame = encodeMessage(m);
  if (Status s = store_.enqueueOutbox({m.msg_id, frame, now.wall}); !s.ok()) {
    // Sending anyway is still better than nothing; the coordinator will reconcile.
    logError("outbox write failed: " + s.toString());
  }
  if (session_) (void)send_(frame);
}

void SiteAgent::sendHello(Instant now) {
  Hello hello;
  hello.agent_version = options_.agent_version;
  hello.backend = std::string(backend_.kind());
  hello.incarnation = incarnation_;
  if (options_.admission != nullptr && options_.publish_rules) {
    hello.rules = options_.admission->rules();
  }
  if (Result<std::vector<DispatchRecord>> active = store_.activeDispatches(); active.ok()) {
    for (const DispatchRecord& r : *active) {
      if (!r.accepted || isTerminal(r.state)) continue;
      hello.jobs.push_back({r.tag.job_id, r.tag.attempt, r.local_id, r.state, r.status_seq});
    }
  } else {
    logError("cannot list jobs for HELLO: " + active.status().toString());
  }
  hello.jobs.insert(hello.jobs.end(), lost_at_start_.begin(), lost_at_start_.end());
  session_ = false;
  last_hello_ = now.mono;
  Status s = send_(encodeMessage(envelope(std::move(hello), now)));
  if (!s.ok()) {
    spdlog::debug("send deferred: {}", s.toString());
    return;
  }
  // Only a HELLO that left can be answered: the lease counts from the first that did, not
  // from one the transport refused while it was not connected yet.
  lease_.helloSent(now.mono);
}

void SiteAgent::onReconnected(Instant now) {
  sendHello(now);
}

void SiteAgent::onFrame(const std::string& frame, Instant now) {
  auto decoded = decodeMessage(frame);
  if (auto* failure = std::get_if<DecodeFailure>(&decoded)) {
    logError("bad message from coordinator: " + failure->status.toString());
    send(errorFor(*failure), now);
    return;
  }
  const Message& m = std::get<Message>(decoded);
  if (m.site != options_.site) {
    send(ErrorReply{"wrong_site",
                    "this agent serves site \"" + options_.site + "\", not \"" + m.site + "\"",
                    "site", m.msg_id},
         now);
    return;
  }
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, Welcome>) {
          onWelcome(body, now);
        } else if constexpr (std::is_same_v<T, Dispatch>) {
          handleDispatch(m, body, now);
        } else if constexpr (std::is_same_v<T, Cancel>) {
          handleCancel(m, body, now);
        } else if constexpr (std::is_same_v<T, LogRequest>) {
          // One bounded read of a local file; not acknowledged, not kept (protocol 5.7).
          send(output_.answer(body, store_), now);
        } else if constexpr (std::is_same_v<T, Ack>) {
          lease_.acknowledged(body.ack_msg_id, now);
          if (Status s = store_.acknowledgeOutbox(body.ack_msg_id); !s.ok()) {
            logError("outbox acknowledge failed: " + s.toString());
          }
        } else if constexpr (std::is_same_v<T, ErrorReply>) {
          onError(body, now);
        } else if constexpr (std::is_same_v<T, Maintenance>) {
          onMaintenance(m, body, now);
        } else {
          send(ErrorReply{"bad_message",
                          std::string(messageTypeName(m.body)) + " is not sent to an agent", "type",
                          m.msg_id},
               now);
        }
      },
      m.body);
}

void SiteAgent::onWelcome(const Welcome& w, Instant now) {
  session_ = true;
  lease_.welcomed(now);
  if (w.heartbeat_interval.count() > 0) heartbeat_interval_ = w.heartbeat_interval;
  if (w.capacity_interval.count() > 0) capacity_interval_ = w.capacity_interval;
  if (w.job_lease != lease_.lease()) {
    lease_.setLease(w.job_lease);
    if (Status s = store_.saveLease(w.job_lease); !s.ok()) logError(s.toString());
  }
  spdlog::info(
      "session established with coordinator {} (protocol {}, heartbeat {} ms, job lease {})",
      w.coordinator_version, w.protocol_version, heartbeat_interval_.count(),
      w.job_lease > Duration::zero() ? formatDuration(w.job_lease) : "none");
  last_heartbeat_ = now.mono;
  sendCapacity(now, /*force=*/true);
  flushOutbox(now, /*all=*/true);
}

void SiteAgent::onError(const ErrorReply& e, Instant now) {
  errors_received_++;
  if (e.code == "hello_required") {
    spdlog::info("coordinator has no session for us: saying HELLO again");
    sendHello(now);
    return;
  }
  // The coordinator will never accept that message as it is: stop resending it.
  if ((e.code == "bad_message" || e.code == "missing_field") && !e.ref_msg_id.empty()) {
    (void)store_.acknowledgeOutbox(e.ref_msg_id);
  }
  logError("coordinator replied ERROR " + e.code + ": " + e.message +
           (e.field.empty() ? "" : " (field " + e.field + ")"));
}

void SiteAgent::handleDispatch(const Message& m, const Dispatch& d, Instant now) {
  (void)m;
  uint64_t duplicates = commands_.stats().duplicates;
  std::optional<DispatchAck> ack = commands_.dispatch(d, now.wall);
  if (!ack) return;  // nothing can be answered now: the coordinator resends
  bool fresh = commands_.stats().duplicates == duplicates;
  if (!ack->accepted && fresh) {
    spdlog::info("rejected {} attempt {}: {}", d.job_id, d.attempt, ack->reason);
  }
  send(*ack, now);
  if (ack->accepted && fresh) {
    reportUpdates(now);
    sendCapacity(now, /*force=*/false);
  }
}

void SiteAgent::handleCancel(const Message& m, const Cancel& c, Instant now) {
  CancelOutcome out = commands_.cancel(c, now.wall, [&] { reportUpdates(now); });
  if (!out.acknowledge) return;  // no ACK: the coordinator retries
  if (c.only_if_pending && !out.cancelled) {
    spdlog::info("not withdrawing {} attempt {}: not pending here", c.job_id, c.attempt);
  }
  send(Ack{m.msg_id}, now);
  reportUpdates(now);
}

JobStatus SiteAgent::numberedStatus(const LocalJobUpdate& u, Instant now) {
  JobStatus status = statusOf(u);
  status.incarnation = incarnation_;
  Result<std::optional<DispatchRecord>> known = store_.findDispatch(u.tag);
  if (known.ok() && known->has_value()) {
    DispatchRecord r = **known;
    r.state = u.state;
    if (!u.local_id.empty()) r.local_id = u.local_id;
    if (u.started_at) r.started_at = u.started_at;
    if (u.ended_at) r.ended_at = u.ended_at;
    r.updated_at = now.wall;
    status.seq = ++r.status_seq;
    if (Status s = store_.saveDispatch(r); !s.ok()) {
      logError(s.toString());
      status.seq = 0;  // not durable: a restarted agent could number another status alike
    }
  }
  if (!isTerminal(u.state)) return status;
  if (commands_.takeStoppedByLease(u.tag)) {
    status.state = JobState::kLost;
    status.reason = "stopped by the agent: no word from the coordinator for the job lease (" +
                    formatDuration(lease_.lease()) + "); the coordinator places it again";
  } else if (commands_.takeWithdrawn(u.tag) && u.state == JobState::kCancelled) {
    status.reason = "withdrawn by the coordinator";
  }
  return status;
}

void SiteAgent::reportUpdates(Instant now) {
  for (const LocalJobUpdate& u : backend_.poll(now.wall)) sendDurably(numberedStatus(u, now), now);
  last_backend_poll_ = now.mono;
}

void SiteAgent::sendCapacity(Instant now, bool force) {
  last_capacity_check_ = now.mono;
  if (!session_) return;
  Result<SiteCapacity> cap = backend_.capacity(now.wall);
  Capacity msg;
  if (cap.ok()) {
    msg.capacity = *cap;
  } else {
    // Keep reporting what we last knew, marked degraded, so the coordinator stops
    // placing here but does not think the site vanished.
    msg.degraded = true;
    msg.degraded_reason = cap.status().message();
    if (last_capacity_) msg.capacity = *last_capacity_;
  }
  bool changed = !last_capacity_ || !sameCapacity(*last_capacity_, msg.capacity) ||
                 msg.degraded != last_degraded_;
  if (!changed && !force && now.mono - last_capacity_sent_ < capacity_interval_) return;
  if (changed) {
    ++epoch_;
    if (Status s = store_.saveEpoch(epoch_); !s.ok()) logError(s.toString());
  }
  msg.capacity.epoch = epoch_;
  msg.health = health(now);
  last_capacity_ = msg.capacity;
  last_capacity_->epoch = 0;
  last_degraded_ = msg.degraded;
  last_capacity_sent_ = now.mono;
  send(std::move(msg), now);
}

void SiteAgent::sendHeartbeat(Instant now) {
  Heartbeat hb;
  hb.epoch = epoch_;
  for (const LocalJobUpdate& j : backend_.activeJobs()) {
    (j.state == JobState::kRunning ? hb.running_jobs : hb.pending_jobs)++;
  }
  hb.health = health(now);
  last_heartbeat_ = now.mono;
  // The coordinator (1.1) acknowledges it: the agent then knows it is heard.
  lease_.sent(send(hb, now), now.mono);
}

AgentHealth SiteAgent::health(Instant now) const {
  BackendHealth backend = backend_.health(now.wall);
  AgentHealth h{.version = options_.agent_version,
                .backend_ok = backend.ok,
                .backend_error = backend.error,
                .last_backend_ok_at = backend.last_ok_at,
                .outbox_depth = 0};
  // A store that cannot count reports 0 rather than nothing: its failure is logged where
  // the outbox is read for sending.
  if (Result<uint64_t> depth = store_.outboxDepth(); depth.ok()) h.outbox_depth = *depth;
  return h;
}

void SiteAgent::flushOutbox(Instant now, bool all) {
  last_outbox_flush_ = now.mono;
  if (!session_) return;
  Result<std::vector<OutboxEntry>> pending = store_.pendingOutbox();
  if (!pending.ok()) {
    logError("cannot read outbox: " + pending.status().toString());
    return;
  }
  for (const OutboxEntry& e : *pending) {
    if (!all && now.wall - e.created_at < options_.retry_interval) continue;
    if (!send_(e.frame).ok()) break;
  }
}

// The job lease: the last contact made durable now and then; once the lease has run out,
// every re-placeable job is stopped (again each tick for one the scheduler would not stop).
void SiteAgent::keepLease(Instant now) {
  lease_.observe(now);  // maintenance windows pause the lease
  if (std::optional<Time> contact = lease_.contactToPersist(now)) {
    if (Status s = store_.saveLastContact(*contact); !s.ok()) logError(s.toString());
  }
  if (!lease_.expired(now.mono)) return;
  if (lease_.runsOutNow(now.mono)) {
    spdlog::warn(
        "no word from the coordinator for the job lease ({}): stopping the jobs it may "
        "place elsewhere",
        formatDuration(lease_.lease()));
  }
  Result<std::vector<DispatchRecord>> active = store_.activeDispatches();
  if (!active.ok()) {
    logError("cannot list jobs at the end of the lease: " + active.status().toString());
    return;
  }
  bool stopped = false;
  for (const DispatchRecord& r : *active) {
    if (commands_.stoppedByLease(r.tag)) continue;
    stopped = commands_.stopForLease(r, now.wall) || stopped;
  }
  if (stopped) reportUpdates(now);
}

void SiteAgent::tick(Instant now) {
  if (!session_ && now.mono - last_hello_ >= options_.hello_retry) sendHello(now);
  std::optional<Time> event = backend_.nextEventTime();
  if ((event && *event <= now.wall) || now.mono - last_backend_poll_ >= options_.backend_poll) {
    reportUpdates(now);
  }
  keepLease(now);
  if (!session_) return;
  if (now.mono - last_capacity_check_ >= options_.capacity_check) sendCapacity(now, false);
  if (now.mono - last_heartbeat_ >= heartbeat_interval_) sendHeartbeat(now);
  if (now.mono - last_outbox_flush_ >= options_.retry_interval) flushOutbox(now, false);
  if (now.mono - last_usage_check_ >= options_.usage_retry) reportUsage(now);
}

void SiteAgent::reportUsage(Instant now) {
  last_usage_check_ = now.mono;
  Result<std::vector<DispatchRecord>> due = store_.usageDue(32);
  if (!due.ok()) {
    logError("cannot read the attempts whose usage is due: " + due.status().toString());
    return;
  }
  for (DispatchRecord& r : *due) {
    Result<std::optional<JobUsage>> u = usageOf(backend_, r, now.wall, options_.usage_give_up);
    if (!u.ok()) {
      spdlog::warn("usage of {} attempt {}: {} (asking again later)", r.tag.job_id, r.tag.attempt,
                   u.status().message());
      return;
    }
    if (!*u) continue;  // not in the accounting yet
    sendDurably(std::move(**u), now);
    r.usage_reported = true;
    if (Status s = store_.saveDispatch(r); !s.ok()) logError(s.toString());
  }
}

MonoTime SiteAgent::nextWakeup(Instant now) const {
  MonoTime next = now.mono + std::chrono::seconds(1);
  auto consider = [&](MonoTime t) { next = std::min(next, std::max(t, now.mono)); };
  if (!session_) consider(last_hello_ + options_.hello_retry);
  if (std::optional<Time> e = backend_.nextEventTime()) consider(now.mono + (*e - now.wall));
  consider(last_backend_poll_ + options_.backend_poll);
  if (std::optional<MonoTime> d = lease_.deadline()) consider(*d);
  if (session_) {
    consider(last_heartbeat_ + heartbeat_interval_);
    consider(last_capacity_check_ + options_.capacity_check);
    consider(last_outbox_flush_ + options_.retry_interval);
  }
  return next;
}

void SiteAgent::logError(const std::string& what) {
  last_error_ = what;
  spdlog::error("{}", what);
}

}  // namespace aifed::agent
