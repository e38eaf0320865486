#include "coordinator/broker/allocation_ledger.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace aifed::broker {
namespace {

double hours(Duration d) {
  return std::chrono::duration<double>(d).count() / 3600.0;
}

bool isActive(JobState s) {
  return s == JobState::kDispatched || s == JobState::kPending || s == JobState::kRunning;
}

}  // namespace

double usageGpuHours(const SiteUsage& u) {
  return (u.gpus > 0 ? u.gpus : u.nodes) * hours(u.elapsed);
}

double allocationCharge(const JobSpec& spec, double h) {
  return spec.nodes * std::max(1, spec.gpus_per_node) * h;
}

// Called on every state change, so it avoids lookups by name when it can: the same
// subtraction and addition on the same usage entry as a lookup would find.
void AllocationLedger::recharge(int64_t seq, const JobRecord& j) {
  auto old = charges_.find(seq);
  if (old != charges_.end()) *old->second.slot -= old->second.gpu_hours;
  double h = 0;
  if (j.site.empty()) {
    h = 0;
  } else if (isActive(j.state)) {
    h = hours(j.spec.walltime);
  } else if (isTerminal(j.state) && j.started_at && j.ended_at) {
    h = std::max(0.0, hours(*j.ended_at - *j.started_at));
  }
  const bool measured = isTerminal(j.state) && !j.site.empty() && j.at_site.usage;
  if (measured) h = usageGpuHours(*j.at_site.usage);  // already GPU-hours
  if (h <= 0) {
    if (old != charges_.end()) charges_.erase(old);
    return;
  }
  double gpu_hours = measured ? h : allocationCharge(j.spec, h);
  if (old == charges_.end()) {
    old = charges_.emplace(seq, Charge{&usage_[j.spec.project][j.site], j.site, 0}).first;
  } else if (old->second.site != j.site) {
    old->second.slot = &usage_[j.spec.project][j.site];
    old->second.site = j.site;
  }
  old->second.gpu_hours = gpu_hours;
  *old->second.slot += gpu_hours;
}

void AllocationLedger::addDispatch(const JobSpec& spec, Time at) {
  Decayed& u = fair_usage_[spec.project];
  u.value = decayedUsage(spec.project, at) + allocationCharge(spec, hours(spec.walltime));
  u.at = at;
}

double AllocationLedger::used(const std::string& project, const std::string& site) const {
  auto p = usage_.find(project);
  if (p == usage_.end()) return 0;
  auto s = p->second.find(site);
  return s == p->second.end() ? 0 : s->second;
}

double AllocationLedger::decayedUsage(const std::string& project, Time now) const {
  auto it = fair_usage_.find(project);
  if (it == fair_usage_.end()) return 0;
  double dt_h = hours(now - it->second.at);
  double half_h = std::max(1e-9, hours(half_life_));
  return it->second.value * std::exp2(-std::max(0.0, dt_h) / half_h);
}

double AllocationLedger::share(const std::string& project) const {
  auto it = shares_.find(project);
  return it == shares_.end() || it->second <= 0 ? 1.0 : it->second;
}

void AllocationLedger::checkInvariants() const {
#ifndef NDEBUG
  for (const auto& [seq, c] : charges_) {
    // A charge is positive and points at its site's usage entry, which holds at least it
    // (floating-point sums of other charges may leave a tiny negative remainder).
    assert(c.gpu_hours > 0 && c.slot != nullptr);
    assert(*c.slot >= c.gpu_hours * (1 - 1e-9) - 1e-6);
  }
#endif
}

}  // namespace aifed::broker
