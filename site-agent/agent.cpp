#include "site-agent/agent.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace aifed::agent {
namespace {

bool sameCapacity(const SiteCapacity& a, const SiteCapacity& b) {
  return a.partitions == b.partitions;  // epochs differ by construction
}

}  // namespace

SiteAgent::SiteAgent(SiteAgentOptions options, Backend& backend, AgentStore& store, SendFn send)
    : options_(std::move(options)),
      backend_(backend),
      store_(store),
      send_(std::move(send)),
      commands_(backend, store, [this](const std::string& what) { logError(what); }) {}

Status SiteAgent::start(Time now) {
  Result<uint64_t> epoch = store_.loadEpoch();
  if (!epoch.ok()) return epoch.status();
  epoch_ = *epoch;

  // Jobs this agent accepted that the backend no longer holds cannot be followed: leave
  // them out of HELLO so the coordinator's reconciliation re-places or fails them.
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
    r.updated_at = now;
    if (Status s = store_.saveDispatch(r); !s.ok()) return s;
  }
  sendHello(now);
  return Status::Ok();
}

std::string SiteAgent::nextMsgId() {
  return options_.site + "-" + std::to_string(toMillis(options_.boot_time)) + "-" +
         std::to_string(++msg_counter_);
}

Message SiteAgent::envelope(Body body, Time now) {
  return makeMessage(options_.site, nextMsgId(), now, std::move(body));
}

void SiteAgent::send(Body body, Time now) {
  Status s = send_(encodeMessage(envelope(std::move(body), now)));
  if (!s.ok()) spdlog::debug("send deferred: {}", s.toString());
}

void SiteAgent::sendDurably(Body body, Time now) {
  Message m = envelope(std::move(body), now);
  std::string frame = encodeMessage(m);
  if (Status s = store_.enqueueOutbox({m.msg_id, frame, now}); !s.ok()) {
    // Sending anyway is still better than nothing; the coordinator will reconcile.
    logError("outbox write failed: " + s.toString());
  }
  if (session_) (void)send_(frame);
}

void SiteAgent::sendHello(Time now) {
  Hello hello;
  hello.agent_version = options_.agent_version;
  hello.backend = std::string(backend_.kind());
  if (Result<std::vector<DispatchRecord>> active = store_.activeDispatches(); active.ok()) {
    for (const DispatchRecord& r : *active) {
      if (!r.accepted || isTerminal(r.state)) continue;
      hello.jobs.push_back({r.tag.job_id, r.tag.attempt, r.local_id, r.state});
    }
  } else {
    logError("cannot list jobs for HELLO: " + active.status().toString());
  }
  session_ = false;
  last_hello_ = now;
  send(std::move(hello), now);
}

void SiteAgent::onReconnected(Time now) {
  sendHello(now);
}

void SiteAgent::onFrame(const std::string& frame, Time now) {
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
          session_ = true;
          if (body.heartbeat_interval.count() > 0) heartbeat_interval_ = body.heartbeat_interval;
          if (body.capacity_interval.count() > 0) capacity_interval_ = body.capacity_interval;
          spdlog::info("session established with coordinator {} (protocol {}, heartbeat {} ms)",
                       body.coordinator_version, body.protocol_version,
                       heartbeat_interval_.count());
          last_heartbeat_ = now;
          sendCapacity(now, /*force=*/true);
          flushOutbox(now, /*all=*/true);
        } else if constexpr (std::is_same_v<T, Dispatch>) {
          handleDispatch(m, body, now);
        } else if constexpr (std::is_same_v<T, Cancel>) {
          handleCancel(m, body, now);
        } else if constexpr (std::is_same_v<T, Ack>) {
          if (Status s = store_.acknowledgeOutbox(body.ack_msg_id); !s.ok()) {
            logError("outbox acknowledge failed: " + s.toString());
          }
        } else if constexpr (std::is_same_v<T, ErrorReply>) {
          errors_received_++;
          if (body.code == "hello_required") {
            spdlog::info("coordinator has no session for us: saying HELLO again");
            sendHello(now);
          } else {
            // The coordinator will never accept that message as it is: stop resending it.
            if ((body.code == "bad_message" || body.code == "missing_field") &&
                !body.ref_msg_id.empty()) {
              (void)store_.acknowledgeOutbox(body.ref_msg_id);
            }
            logError("coordinator replied ERROR " + body.code + ": " + body.message +
                     (body.field.empty() ? "" : " (field " + body.field + ")"));
          }
        } else {
          send(ErrorReply{"bad_message",
                          std::string(messageTypeName(m.body)) + " is not sent to an agent", "type",
                          m.msg_id},
               now);
        }
      },
      m.body);
}

void SiteAgent::handleDispatch(const Message& m, const Dispatch& d, Time now) {
  (void)m;
  uint64_t duplicates = commands_.stats().duplicates;
  std::optional<DispatchAck> ack = commands_.dispatch(d, now);
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

void SiteAgent::handleCancel(const Message& m, const Cancel& c, Time now) {
  CancelOutcome out = commands_.cancel(c, now, [&] { reportUpdates(now); });
  if (!out.acknowledge) return;  // no ACK: the coordinator retries
  if (c.only_if_pending && !out.cancelled) {
    spdlog::info("not withdrawing {} attempt {}: not pending here", c.job_id, c.attempt);
  }
  send(Ack{m.msg_id}, now);
  reportUpdates(now);
}

void SiteAgent::reportUpdates(Time now) {
  for (const LocalJobUpdate& u : backend_.poll(now)) {
    Result<std::optional<DispatchRecord>> known = store_.findDispatch(u.tag);
    if (known.ok() && known->has_value()) {
      DispatchRecord r = **known;
      r.state = u.state;
      if (!u.local_id.empty()) r.local_id = u.local_id;
      r.updated_at = now;
      if (Status s = store_.saveDispatch(r); !s.ok()) logError(s.toString());
    }
    JobStatus status = statusOf(u);
    if (isTerminal(u.state) && commands_.takeWithdrawn(u.tag) && u.state == JobState::kCancelled) {
      status.reason = "withdrawn by the coordinator";
    }
    sendDurably(std::move(status), now);
  }
  last_backend_poll_ = now;
}

void SiteAgent::sendCapacity(Time now, bool force) {
  last_capacity_check_ = now;
  if (!session_) return;
  Result<SiteCapacity> cap = backend_.capacity(now);
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
  if (!changed && !force && now - last_capacity_sent_ < capacity_interval_) return;
  if (changed) {
    ++epoch_;
    if (Status s = store_.saveEpoch(epoch_); !s.ok()) logError(s.toString());
  }
  msg.capacity.epoch = epoch_;
  last_capacity_ = msg.capacity;
  last_capacity_->epoch = 0;
  last_degraded_ = msg.degraded;
  last_capacity_sent_ = now;
  send(std::move(msg), now);
}

void SiteAgent::flushOutbox(Time now, bool all) {
  last_outbox_flush_ = now;
  if (!session_) return;
  Result<std::vector<OutboxEntry>> pending = store_.pendingOutbox();
  if (!pending.ok()) {
    logError("cannot read outbox: " + pending.status().toString());
    return;
  }
  for (const OutboxEntry& e : *pending) {
    if (!all && now - e.created_at < options_.retry_interval) continue;
    if (!send_(e.frame).ok()) break;
  }
}

void SiteAgent::tick(Time now) {
  if (!session_) {
    if (now - last_hello_ >= options_.hello_retry) sendHello(now);
  }
  std::optional<Time> event = backend_.nextEventTime();
  if ((event && *event <= now) || now - last_backend_poll_ >= options_.backend_poll) {
    reportUpdates(now);
  }
  if (!session_) return;
  if (now - last_capacity_check_ >= options_.capacity_check) sendCapacity(now, false);
  if (now - last_heartbeat_ >= heartbeat_interval_) {
    Heartbeat hb;
    hb.epoch = epoch_;
    for (const LocalJobUpdate& j : backend_.activeJobs()) {
      (j.state == JobState::kRunning ? hb.running_jobs : hb.pending_jobs)++;
    }
    last_heartbeat_ = now;
    send(hb, now);
  }
  if (now - last_outbox_flush_ >= options_.retry_interval) flushOutbox(now, false);
}

Time SiteAgent::nextWakeup(Time now) const {
  Time next = now + std::chrono::seconds(1);
  auto consider = [&](Time t) { next = std::min(next, std::max(t, now)); };
  if (!session_) consider(last_hello_ + options_.hello_retry);
  if (std::optional<Time> e = backend_.nextEventTime()) consider(*e);
  consider(last_backend_poll_ + options_.backend_poll);
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
