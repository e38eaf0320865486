#include "site-agent/agent_lease.h"

#include <algorithm>

#include "protocol/maintenance.h"

namespace aifed::agent {
namespace {
constexpr size_t kMaxProbes = 64;  // HEARTBEATs in flight remembered (older ones: no answer)
}  // namespace

void AgentLease::restore(Duration lease, std::optional<Time> last_contact, Instant now) {
  lease_ = lease;
  if (!last_contact) {
    last_contact_ = now.mono;  // nothing ran before: count from this start
    return;
  }
  Duration elapsed = std::max(Duration::zero(), now.wall - *last_contact);
  elapsed -= std::min(elapsed, pausedWithin(windows_, grace_, *last_contact, now.wall));
  last_contact_ = now.mono - elapsed;
  last_contact_wall_ = *last_contact;
  observed_ = now;
}

void AgentLease::setMaintenance(std::vector<MaintenanceWindow> windows, Duration grace) {
  windows_ = std::move(windows);
  grace_ = grace;
}

void AgentLease::observe(Instant now) {
  if (observed_ && now.mono > observed_->mono) {
    Duration delta = now.mono - observed_->mono;
    paused_ += std::min(delta, pausedWithin(windows_, grace_, observed_->wall, now.wall));
  }
  observed_ = now;
}

void AgentLease::sent(const std::string& msg_id, MonoTime at) {
  probes_.emplace_back(msg_id, at);
  if (probes_.size() > kMaxProbes) probes_.pop_front();
}

void AgentLease::acknowledged(const std::string& msg_id, Instant now) {
  auto it = std::find_if(probes_.begin(), probes_.end(),
                         [&](const auto& p) { return p.first == msg_id; });
  if (it == probes_.end()) return;  // not a probe (a JOB_STATUS), or too old to remember
  MonoTime sent_at = it->second;
  probes_.erase(probes_.begin(), it + 1);
  contact(sent_at, now);
}

void AgentLease::helloSent(MonoTime at) {
  if (!first_unanswered_hello_) first_unanswered_hello_ = at;
}

void AgentLease::welcomed(Instant now) {
  if (first_unanswered_hello_) contact(*first_unanswered_hello_, now);
  first_unanswered_hello_.reset();
}

void AgentLease::contact(MonoTime sent_at, Instant now) {
  if (last_contact_ && sent_at <= *last_contact_) return;
  last_contact_ = sent_at;
  last_contact_wall_ = now.wall - (now.mono - sent_at);
  ran_out_ = false;
  // The lease counts afresh from the contact, less the maintenance between its sending
  // and now: an ACK that arrives late (the agent was frozen inside a window after
  // sending) must not take back the pause that stretch earned.
  paused_ = std::min(now.mono - sent_at,
                     pausedWithin(windows_, grace_, *last_contact_wall_, now.wall));
  observed_ = now;
}

bool AgentLease::expired(MonoTime now) const {
  return lease_ > Duration::zero() && last_contact_ && now - *last_contact_ - paused_ >= lease_;
}

bool AgentLease::runsOutNow(MonoTime now) {
  if (!expired(now) || ran_out_) return false;
  ran_out_ = true;
  return true;
}

std::optional<MonoTime> AgentLease::deadline() const {
  if (lease_ <= Duration::zero() || !last_contact_ || ran_out_) return std::nullopt;
  return *last_contact_ + lease_ + paused_;
}

std::optional<Time> AgentLease::contactToPersist(Instant now) {
  if (!last_contact_wall_) return std::nullopt;
  if (persisted_at_ && now.mono - *persisted_at_ < kPersistEvery) return std::nullopt;
  persisted_at_ = now.mono;
  return last_contact_wall_;
}

}  // namespace aifed::agent
