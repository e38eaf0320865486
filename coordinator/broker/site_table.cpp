#include "coordinator/broker/site_table.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "protocol/maintenance.h"

namespace aifed::broker {
namespace {

bool activeWindowIsListed(const SiteRecord& r) {
  return r.maintenance_active.empty() ||
         std::any_of(r.maintenance.begin(), r.maintenance.end(),
                     [&](const MaintenanceWindow& w) { return w.id == r.maintenance_active; });
}

}  // namespace

SiteTable::SiteTable(const Federation& federation, Timing timing) : timing_(timing) {
  for (const SiteConfig& s : federation.sites) {
    index_[s.id] = records_.size();
    SiteRecord r;
    r.id = s.id;
    records_.push_back(std::move(r));
    live_.emplace_back();
  }
}

std::optional<size_t> SiteTable::find(std::string_view id) const {
  auto it = index_.find(std::string(id));
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

bool SiteTable::canSend(size_t i) const {
  const Liveness& l = live_[i];
  return l.session && (l.liveness == SiteState::kUp || l.liveness == SiteState::kSuspect);
}

bool SiteTable::anyOpen() const {
  for (size_t i = 0; i < records_.size(); ++i) {
    const SiteRecord& r = records_[i];
    if (live_[i].liveness == SiteState::kUp && !r.drained && !r.degraded && r.capacity) {
      return true;
    }
  }
  return false;
}

void SiteTable::heard(size_t i, Instant now) {
  records_[i].last_heard = now.wall;
  live_[i].last_heard = now.mono;
}

bool SiteTable::markUp(size_t i, Instant now) {
  return setLiveness(i, SiteState::kUp, now);
}

void SiteTable::startSession(size_t i, std::string agent_version, uint64_t incarnation,
                             Instant now) {
  (void)now;
  live_[i].session = true;
  live_[i].incarnation = incarnation;
  live_[i].fresh_session = true;
  records_[i].agent_version = std::move(agent_version);
  records_[i].agent_health.reset();  // the new run reports its own
  records_[i].agent_health_at.reset();
}

bool SiteTable::setAgentHealth(size_t i, AgentHealth health, Time at) {
  SiteRecord& s = records_[i];
  bool changed = !s.agent_health || s.agent_health->backend_ok != health.backend_ok ||
                 s.agent_health->backend_error != health.backend_error ||
                 s.agent_health->version != health.version;
  s.agent_health = std::move(health);
  s.agent_health_at = at;
  return changed;
}

Result<bool> SiteTable::applyCapacity(size_t i, const Capacity& report, Capacity* take,
                                      Instant now) {
  SiteRecord& s = records_[i];
  Liveness& l = live_[i];
  if (Status v = validateCapacity(report.capacity); !v.ok()) return v;
  if (s.capacity && !l.fresh_session) {
    if (report.capacity.epoch <= s.capacity->epoch) return false;  // a late duplicate
    if (report.capacity.epoch - s.capacity->epoch > kMaxEpochJump) {
      return invalidArgument("epoch jumps from " + std::to_string(s.capacity->epoch) + " to " +
                                 std::to_string(report.capacity.epoch) +
                                 " within a session (by more than " +
                                 std::to_string(kMaxEpochJump) + ")",
                             "epoch");
    }
  }
  l.fresh_session = false;
  if (take && s.capacity) {
    std::swap(*s.capacity, take->capacity);
  } else if (take) {
    s.capacity = std::move(take->capacity);
  } else {
    s.capacity = report.capacity;
  }
  s.degraded = report.degraded;
  s.degraded_reason = report.degraded_reason;
  s.last_report = now.wall;
  return true;
}

bool SiteTable::setDrained(size_t i, bool drained, std::string reason, std::string by,
                           std::optional<Time> at) {
  SiteRecord& r = records_[i];
  if (r.drained == drained) return false;
  r.drained = drained;
  r.drain_reason = drained ? std::move(reason) : std::string();
  r.drained_by = drained ? std::move(by) : std::string();
  r.drained_at = drained ? at : std::nullopt;
  refreshDisplayedState(i);
  return true;
}

void SiteTable::setMaintenance(size_t i, std::vector<MaintenanceWindow> windows) {
  SiteRecord& r = records_[i];
  for (MaintenanceWindow& old : r.maintenance) {
    bool kept = std::any_of(windows.begin(), windows.end(),
                            [&](const MaintenanceWindow& w) { return w.id == old.id; });
    // The agent may hold it (a MAINTENANCE that listed it may have arrived): it pauses
    // until the agent acknowledges a list without it.
    if (!kept) r.maintenance_retired.push_back(std::move(old));
  }
  r.maintenance = std::move(windows);
  // A cancelled window in force is no longer: placements may resume at once.
  if (!activeWindowIsListed(r)) r.maintenance_active.clear();
}

bool SiteTable::retireAcknowledged(size_t i, const std::vector<std::string>& held) {
  std::vector<MaintenanceWindow>& retired = records_[i].maintenance_retired;
  size_t before = retired.size();
  std::erase_if(retired, [&](const MaintenanceWindow& w) {
    return std::find(held.begin(), held.end(), w.id) == held.end();
  });
  return retired.size() != before;
}

std::vector<MaintenanceWindow> SiteTable::pausingWindows(size_t i) const {
  const SiteRecord& r = records_[i];
  if (r.maintenance_retired.empty()) return r.maintenance;
  std::vector<MaintenanceWindow> all = r.maintenance;
  all.insert(all.end(), r.maintenance_retired.begin(), r.maintenance_retired.end());
  return all;
}

bool SiteTable::advanceMaintenance(size_t i, Time now) {
  SiteRecord& r = records_[i];
  if (r.maintenance.empty() && r.maintenance_retired.empty() && r.maintenance_active.empty()) {
    return false;
  }
  auto over = [&](const MaintenanceWindow& w) { return w.end + timing_.maintenance_grace <= now; };
  size_t before = r.maintenance.size() + r.maintenance_retired.size();
  std::erase_if(r.maintenance, over);
  std::erase_if(r.maintenance_retired, over);
  bool changed = r.maintenance.size() + r.maintenance_retired.size() != before;
  const MaintenanceWindow* active = activeWindow(r.maintenance, now);
  std::string id = active ? active->id : std::string();
  if (id != r.maintenance_active) {
    r.maintenance_active = std::move(id);
    changed = true;
  }
  return changed;
}

bool SiteTable::setLiveness(size_t i, SiteState s, Instant now) {
  Liveness& l = live_[i];
  if (l.liveness == s) return false;
  l.liveness = s;
  if (s == SiteState::kUnreachable) {
    records_[i].unreachable_since = now.wall;
    l.unreachable_since = now.mono;
    l.lease_elapsed = Duration::zero();
    l.lease_handled = false;
  } else if (s == SiteState::kUp) {
    records_[i].unreachable_since.reset();
    l.unreachable_since.reset();
    l.unknown_since.reset();
  }
  refreshDisplayedState(i);
  return true;
}

void SiteTable::refreshDisplayedState(size_t i) {
  SiteState live = live_[i].liveness;
  records_[i].state = (records_[i].drained && live == SiteState::kUp) ? SiteState::kDraining : live;
}

bool SiteTable::connectedAt(MonoTime now) const {
  for (const Liveness& l : live_) {
    if (l.last_heard && now - *l.last_heard < timing_.unreachable_after) return true;
  }
  return false;
}

void SiteTable::accrueLeases(Instant now) {
  if (!last_advance_ || !connected_at_last_advance_ || now.mono <= *last_advance_) return;
  Duration delta = now.mono - *last_advance_;
  for (size_t i = 0; i < live_.size(); ++i) {
    Liveness& l = live_[i];
    if (l.liveness != SiteState::kUnreachable || l.lease_handled) continue;
    Duration paused = std::min(
        delta, pausedWithin(pausingWindows(i), timing_.maintenance_grace, last_advance_wall_,
                            now.wall));
    l.lease_elapsed += delta - paused;
  }
}

SiteState SiteTable::livenessAt(size_t i, MonoTime now) const {
  const Liveness& l = live_[i];
  if (l.liveness == SiteState::kUnknown || !l.last_heard) return l.liveness;
  Duration silent = now - *l.last_heard;
  if (l.liveness != SiteState::kUnreachable && silent >= timing_.unreachable_after) {
    return SiteState::kUnreachable;
  }
  if (l.liveness == SiteState::kUp && silent >= timing_.suspect_after) return SiteState::kSuspect;
  return l.liveness;
}

void SiteTable::advance(Instant now, std::vector<size_t>& changed,
                        std::vector<size_t>& lease_expired) {
  accrueLeases(now);
  last_advance_ = now.mono;
  last_advance_wall_ = now.wall;
  connected_at_last_advance_ = connectedAt(now.mono);
  for (size_t i = 0; i < records_.size(); ++i) {
    Liveness& l = live_[i];
    if (l.liveness == SiteState::kUnknown) {
      if (!l.unknown_since) {
        l.unknown_since = now.mono;  // the silence of a site never heard counts from here
        continue;
      }
      if (now.mono - *l.unknown_since >= timing_.unreachable_after &&
          setLiveness(i, SiteState::kUnreachable, now)) {
        changed.push_back(i);
      }
      continue;
    }
    if (!l.last_heard) continue;
    Duration silent = now.mono - *l.last_heard;
    if (l.liveness != SiteState::kUnreachable && silent >= timing_.unreachable_after) {
      if (setLiveness(i, SiteState::kUnreachable, now)) changed.push_back(i);
    } else if (l.liveness == SiteState::kUp && silent >= timing_.suspect_after) {
      if (setLiveness(i, SiteState::kSuspect, now)) changed.push_back(i);
    }
  }
  for (size_t i = 0; i < records_.size(); ++i) {
    bool listed = std::find(changed.begin(), changed.end(), i) != changed.end();
    if (advanceMaintenance(i, now.wall) && !listed) changed.push_back(i);
  }
  std::sort(changed.begin(), changed.end());
  for (size_t i = 0; i < records_.size(); ++i) {
    Liveness& l = live_[i];
    if (l.liveness != SiteState::kUnreachable || l.lease_handled || !l.unreachable_since) continue;
    if (l.lease_elapsed < timing_.lost_lease) continue;
    l.lease_handled = true;
    lease_expired.push_back(i);
  }
}

std::optional<MonoTime> SiteTable::nextDeadline() const {
  std::optional<MonoTime> next;
  auto consider = [&](MonoTime t) {
    if (!next || t < *next) next = t;
  };
  for (size_t i = 0; i < live_.size(); ++i) {
    const Liveness& l = live_[i];
    std::vector<MaintenanceWindow> windows = pausingWindows(i);
    if (last_advance_ && !windows.empty()) {
      // A window starts or ends, or a pause ends: maintenance_active and the lease change.
      if (std::optional<Time> b =
              nextMaintenanceBoundary(windows, timing_.maintenance_grace, last_advance_wall_)) {
        consider(*last_advance_ + (*b - last_advance_wall_));
      }
    }
    if (l.liveness == SiteState::kUnknown && l.unknown_since) {
      consider(*l.unknown_since + timing_.unreachable_after);
    } else if (l.liveness == SiteState::kUp && l.last_heard) {
      consider(*l.last_heard + timing_.suspect_after);
    } else if (l.liveness == SiteState::kSuspect && l.last_heard) {
      consider(*l.last_heard + timing_.unreachable_after);
    } else if (l.liveness == SiteState::kUnreachable && !l.lease_handled &&
               l.unreachable_since && last_advance_ && connected_at_last_advance_ &&
               !leasePausedAt(windows, timing_.maintenance_grace, last_advance_wall_)) {
      // Paused while the coordinator hears from nobody (the next message resumes it) and
      // inside a window (its boundary, above, resumes it).
      consider(*last_advance_ + (timing_.lost_lease - l.lease_elapsed));
    }
  }
  return next;
}

void SiteTable::restore(const std::vector<SiteRecord>& stored) {
  for (const SiteRecord& r : stored) {
    auto it = index_.find(r.id);
    if (it == index_.end()) continue;  // removed from the federation file
    SiteRecord& s = records_[it->second];
    s.drained = r.drained;
    s.drain_reason = r.drain_reason;
    s.drained_by = r.drained_by;
    s.drained_at = r.drained_at;
    s.maintenance = r.maintenance;
    s.maintenance_retired = r.maintenance_retired;
    s.jobs_placed = r.jobs_placed;
    s.agent_version = r.agent_version;
    // A report stored before reports were validated (or damaged since) is not trusted:
    // the site's next report after its HELLO replaces it anyway.
    if (r.capacity && validateCapacity(*r.capacity).ok()) s.capacity = r.capacity;
    s.last_heard = r.last_heard;
    s.last_report = r.last_report;
  }
  for (size_t i = 0; i < records_.size(); ++i) refreshDisplayedState(i);
}

void SiteTable::checkInvariants() const {
#ifndef NDEBUG
  assert(records_.size() == live_.size() && index_.size() == records_.size());
  for (size_t i = 0; i < records_.size(); ++i) {
    const SiteRecord& r = records_[i];
    const Liveness& l = live_[i];
    // The index names every record at its position (lookups by id depend on it).
    assert(index_.at(r.id) == i);
    // The displayed state is the liveness, with `draining` shown for a drained up site.
    assert(r.state == ((r.drained && l.liveness == SiteState::kUp) ? SiteState::kDraining
                                                                     : l.liveness));
    // An unreachable spell has its start on both clocks; no other state has one.
    assert((l.liveness == SiteState::kUnreachable) == l.unreachable_since.has_value());
    assert(l.unreachable_since.has_value() == r.unreachable_since.has_value());
    // The window in force is one of the declared windows (advance() derives it from them).
    assert(activeWindowIsListed(r));
  }
#endif
}

}  // namespace aifed::broker
