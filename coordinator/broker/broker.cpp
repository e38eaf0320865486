// The Broker facade's public entry points: each hands its work to the parts and the
// handlers of broker_impl.h, drops what ended when ended jobs are not kept, and (Debug
// builds) checks the parts still agree before it returns.
#include "coordinator/broker/broker.h"

#include <cstdlib>

#include "common/ids.h"
#include "coordinator/broker/admission.h"
#include "coordinator/broker/broker_impl.h"

namespace aifed::broker {
namespace {

SiteTable::Timing timingOf(const BrokerConfig& c) {
  return {c.heartbeat_interval * c.suspect_after_missed,
          c.heartbeat_interval * c.unreachable_after_missed, c.lost_lease, c.maintenance_grace};
}

}  // namespace

std::vector<std::string> knownPolicies() {
  std::vector<std::string> names;
  for (const PolicySpec& p : builtinPolicies()) names.push_back(p.name);
  return names;
}

Broker::Impl::Impl(Federation f, BrokerConfig c, std::unique_ptr<RecordKeeping> r)
    : fed(std::move(f)),
      cfg(std::move(c)),
      records(r ? std::move(r) : keepEverything()),
      sites(fed, timingOf(cfg)),
      reservations(cfg.reservation_timeout),
      allocations(cfg.project_shares, cfg.fair_share_half_life),
      retries(cfg.retry_interval),
      policies(cfg.policies, cfg.policy) {}

Broker::Broker(Federation federation, BrokerConfig config, std::unique_ptr<RecordKeeping> records)
    : impl_(std::make_unique<Impl>(std::move(federation), std::move(config), std::move(records))) {
  impl_->checkInvariants();
}

Broker::~Broker() = default;

void Broker::restore(Restored stored_state, Instant now) {
  Impl& m = *impl_;
  Impl::CallGuard guard(m);
  m.sites.restore(stored_state.sites);
  m.quarantine.restore(std::move(stored_state.quarantined));
  for (JobRecord& stored : stored_state.jobs) {
    std::optional<int64_t> seq = common::parseJobSeq(stored.id);
    if (!seq) continue;
    if (isActiveState(stored.state) && !m.sites.find(stored.site)) {
      // Its site left the federation file: nothing can reach it any more.
      stored.reason = "site " + stored.site + " is no longer in the federation";
      stored.state = JobState::kLost;
      stored.cancel_requested = stored.withdrawing = false;
      if (!stored.ended_at) stored.ended_at = now.wall;
    }
    JobRecord& j = m.jobs.restore(*seq, std::move(stored));
    if (!isActiveState(j.state)) continue;
    if (Impl::needsResend(j)) m.retries.dueNow(*seq);  // sent again on the first tick
    if (j.state != JobState::kDispatched) continue;
    // The partition is unknown after a restart: the reservation still blocks the nodes
    // at the site level through the first matching partition.
    size_t site = m.siteOf(j);
    double node_hours =
        j.spec.nodes * std::chrono::duration<double>(j.spec.walltime).count() / 3600;
    m.reservations.reserve(j.id, site, "", j.spec.nodes, node_hours, now.mono);
    if (const std::optional<SiteCapacity>& cap = m.sites.record(site).capacity) {
      for (const PartitionCapacity& p : cap->partitions) {
        if (nodeTypeMatches(p.node_type, j.spec) && p.nodes_total >= j.spec.nodes) {
          m.reservations.setPartition(j.id, p.name);
          break;
        }
      }
    }
  }
  m.restoreArrays(std::move(stored_state.arrays), stored_state.next_array_seq);
  m.jobs.reserveSequence(stored_state.next_job_seq);
  m.next_window_seq = std::max(stored_state.next_window_seq, m.next_window_seq);
  for (const SiteRecord& r : m.sites.records()) {
    for (const auto* list : {&r.maintenance, &r.maintenance_retired}) {
      for (const MaintenanceWindow& w : *list) {
        // A stored window's id is below the counter; should the counter have been lost,
        // it still is never handed out twice.
        if (w.id.rfind("mw-", 0) == 0) {
          m.next_window_seq = std::max<int64_t>(m.next_window_seq, std::atoll(w.id.c_str() + 3) + 1);
        }
      }
    }
  }
  m.jobs.reserveSequence(m.quarantine.highestSeq() + 1);
  for (const auto& [seq, j] : m.jobs.all()) {
    m.allocations.recharge(seq, j);
    // Fair share restarts from what the jobs say: each dispatched attempt's walltime,
    // decayed from when it was dispatched.
    if (!j.site.empty() && j.dispatched_at) m.allocations.addDispatch(j.spec, *j.dispatched_at);
  }
}

Result<JobRecord> Broker::submit(const JobSpec& spec, Instant now, Effects& fx) {
  Result<std::string> id = enqueue(spec, now, fx);
  if (!id.ok()) return id.status();
  return impl_->jobs.newest();
}

Result<std::string> Broker::enqueue(const JobSpec& spec, Instant now, Effects& fx) {
  Impl& m = *impl_;
  Impl::CallGuard guard(m);
  if (Status s = validateJobSpec(spec); !s.ok()) return s;
  if (Status s = checkAgainstFederation(spec, m.fed); !s.ok()) return s;
  if (Status s = m.checkDependenciesExist(spec); !s.ok()) return s;
  int64_t seq = m.jobs.nextSeq();
  JobRecord& j = m.jobs.create(spec, now.wall);
  m.holdOrQueue(j, seq);
  m.emit(j, fx);
  return j.id;
}

Result<JobRecord> Broker::cancel(const std::string& job_id, Instant now, Effects& fx) {
  Impl& m = *impl_;
  Impl::CallGuard guard(m);
  std::optional<int64_t> seq = m.jobs.seqOf(job_id);
  if (!seq && m.jobs.ended(job_id)) return failedPrecondition("job " + job_id + " already ended");
  if (!seq) return notFound("no job " + job_id);
  JobRecord& j = m.jobs.at(*seq);
  if (isTerminal(j.state)) {
    return failedPrecondition("job " + job_id +
                              " already ended: " + std::string(jobStateName(j.state)));
  }
  if (j.state == JobState::kQueued) {
    j.reason = "cancelled by user";
    (void)m.transition(j, *seq, JobEvent::kCancelQueued, now);
  } else {
    (void)m.transition(j, *seq, JobEvent::kRequestCancel, now);
    j.last_sent_at = now.wall;
    m.retries.sent(*seq, now.mono);
    m.send(j.site, Cancel{j.id, j.attempt, "cancelled by user"}, fx);
  }
  m.emit(j, fx);
  return j;  // a copy, taken before the guard may drop the job
}

Status Broker::setDrained(const std::string& site, bool drained, Instant now, Effects& fx,
                          const std::string& reason, const std::string& actor) {
  Impl& m = *impl_;
  Impl::CallGuard guard(m);
  std::optional<size_t> i = m.sites.find(site);
  if (!i) return notFound("no site " + site);
  if (m.sites.setDrained(*i, drained, reason, actor, now.wall)) m.emitSite(*i, fx);
  return Status::Ok();
}

std::optional<size_t> Broker::siteIndex(std::string_view site) const {
  return impl_->sites.find(site);
}

void Broker::onMessage(size_t site, Message&& message, Instant now, Effects& fx) {
  Impl& m = *impl_;
  if (site >= m.sites.size()) return;
  Impl::CallGuard guard(m);
  m.onMessage(site, std::move(message), now, fx);
}

bool Broker::hasSession(const std::string& site) const {
  std::optional<size_t> i = impl_->sites.find(site);
  return i && impl_->sites.hasSession(*i);
}

void Broker::tick(Instant now, Effects& fx) {
  Impl& m = *impl_;
  Impl::CallGuard guard(m);
  m.advanceSites(now, fx);
  m.expireMissing(now, fx);
  m.reservations.expire(now.mono);
  m.retry(now, fx);
  m.withdraw(now, fx);
  m.releaseWaiting(now, fx);
  m.place(now, fx);
}

std::optional<MonoTime> Broker::nextDeadline() const {
  return impl_->nextDeadline();
}

const JobRecord* Broker::findJob(const std::string& id) const {
  return impl_->jobs.find(id);
}

std::vector<const JobRecord*> Broker::listJobs(std::optional<JobState> state,
                                               const std::string& site, size_t offset,
                                               size_t limit) const {
  std::vector<const JobRecord*> out;
  size_t skipped = 0;
  for (const auto& [seq, j] : impl_->jobs.all()) {
    if (state && j.state != *state) continue;
    if (!site.empty() && j.site != site) continue;
    if (skipped < offset) {
      ++skipped;
      continue;
    }
    if (out.size() >= limit) break;
    out.push_back(&j);
  }
  return out;
}

size_t Broker::countJobs(std::optional<JobState> state) const {
  if (!state) return impl_->jobs.size();
  if (*state == JobState::kQueued) return impl_->queue.size() + impl_->waits.size();
  size_t n = 0;
  for (const auto& [seq, j] : impl_->jobs.all()) n += j.state == *state;
  return n;
}

const std::vector<SiteRecord>& Broker::sites() const {
  return impl_->sites.records();
}

const SiteRecord* Broker::findSite(const std::string& id) const {
  std::optional<size_t> i = impl_->sites.find(id);
  return i ? &impl_->sites.record(*i) : nullptr;
}

const Federation& Broker::federation() const {
  return impl_->fed;
}

const BrokerConfig& Broker::config() const {
  return impl_->cfg;
}

int Broker::reservedNodes(const std::string& site) const {
  std::optional<size_t> i = impl_->sites.find(site);
  return i ? impl_->reservations.reservedNodes(*i) : 0;
}

const PlacementDecision* Broker::lastDecision(const std::string& job_id) const {
  return impl_->records->lastDecision(job_id);
}

Status Broker::setPolicy(const std::string& name, const std::string& actor,
                         const std::string& reason, Time now, Effects& fx) {
  Impl& m = *impl_;
  Impl::CallGuard guard(m);
  Result<std::optional<PolicyChange>> change = m.policies.switchTo(name, actor, reason, now);
  if (!change.ok()) return change.status();
  if (!change->has_value()) return Status::Ok();
  m.cfg.policy = name;
  // Waiting jobs get a fresh decision under the new policy on the next tick.
  for (const auto& [prio, seq] : m.queue.entries()) m.records->forgetDecisions(m.jobs.at(seq).id);
  m.queue.markAllUndecided();
  fx.policy_changes.push_back(std::move(**change));
  return Status::Ok();
}

std::vector<QuarantinedJob> Broker::quarantined() const {
  std::vector<QuarantinedJob> out;
  for (const auto& [key, q] : impl_->quarantine.all()) out.push_back(q);
  return out;
}

Result<QuarantinedJob> Broker::decideQuarantined(const std::string& site, const std::string& job_id,
                                                 int attempt, QuarantineAction action,
                                                 const std::string& actor, Instant now,
                                                 Effects& fx) {
  Impl& m = *impl_;
  Impl::CallGuard guard(m);
  Result<QuarantinedJob> decided =
      m.quarantine.decide({site, job_id, attempt}, action, actor, now.wall);
  if (!decided.ok()) return decided;
  fx.quarantined.push_back(*decided);
  if (std::optional<size_t> i = m.sites.find(site)) m.cancelQuarantined(*i, now, false, fx);
  return decided;
}

int64_t Broker::nextJobSeq() const {
  return impl_->jobs.nextSeq();
}

void Broker::reserveJobSeq(int64_t next) {
  impl_->jobs.reserveSequence(next);
}

const PolicySpec& Broker::policy() const {
  return impl_->policies.active().spec();
}

const std::vector<PolicySpec>& Broker::policies() const {
  return impl_->policies.specs();
}

const std::vector<PolicyChange>& Broker::policyHistory() const {
  return impl_->policies.history();
}

double Broker::allocationUsed(const std::string& project, const std::string& site) const {
  return impl_->allocations.used(project, site);
}

double Broker::fairShareUsage(const std::string& project, Time now) const {
  return impl_->allocations.decayedUsage(project, now);
}

}  // namespace aifed::broker
