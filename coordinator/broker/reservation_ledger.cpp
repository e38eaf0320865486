#include "coordinator/broker/reservation_ledger.h"

#include <cassert>

#include "coordinator/broker/placement.h"

namespace aifed::broker {

void ReservationLedger::reserve(const std::string& job_id, size_t site, std::string partition,
                                int nodes, double node_hours, MonoTime now) {
  Reservation r;
  r.site = site;
  r.partition = std::move(partition);
  r.nodes = nodes;
  r.node_hours = node_hours;
  r.created = now;
  held_[job_id] = std::move(r);
}

void ReservationLedger::setPartition(const std::string& job_id, std::string partition) {
  auto it = held_.find(job_id);
  if (it != held_.end()) it->second.partition = std::move(partition);
}

void ReservationLedger::acknowledge(const std::string& job_id, uint64_t epoch) {
  auto it = held_.find(job_id);
  if (it == held_.end()) return;
  it->second.acknowledged = true;
  it->second.release_after_epoch = epoch;
}

void ReservationLedger::release(const std::string& job_id) {
  held_.erase(job_id);
}

void ReservationLedger::onReport(size_t site, uint64_t epoch) {
  for (auto it = held_.begin(); it != held_.end();) {
    const Reservation& r = it->second;
    if (r.site == site && r.acknowledged && r.release_after_epoch < epoch) {
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
}

void ReservationLedger::expire(MonoTime now) {
  for (auto it = held_.begin(); it != held_.end();) {
    if (now - it->second.created >= timeout_) {
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<MonoTime> ReservationLedger::nextDeadline() const {
  std::optional<MonoTime> next;
  for (const auto& [id, r] : held_) {
    MonoTime t = r.created + timeout_;
    if (!next || t < *next) next = t;
  }
  return next;
}

void ReservationLedger::remapSites(const std::vector<int32_t>& new_index) {
  for (auto& [id, r] : held_) {
    // Only active jobs hold reservations, and a site with active jobs is never removed.
    assert(r.site < new_index.size() && new_index[r.site] >= 0);
    r.site = static_cast<size_t>(new_index[r.site]);
  }
}

int ReservationLedger::reservedNodes(size_t site) const {
  int n = 0;
  for (const auto& [id, r] : held_) {
    if (r.site == site) n += r.nodes;
  }
  return n;
}

void ReservationLedger::addTo(std::vector<SiteView>& views) const {
  for (const auto& [id, r] : held_) {
    SiteView& v = views[r.site];
    v.reserved_nodes[r.partition] += r.nodes;
    v.reserved_node_hours[r.partition] += r.node_hours;
  }
}

void ReservationLedger::addLiveTo(std::vector<SiteView>& views, MonoTime now) const {
  for (const auto& [id, r] : held_) {
    if (now - r.created >= timeout_) continue;  // expire(now) releases it
    SiteView& v = views[r.site];
    v.reserved_nodes[r.partition] += r.nodes;
    v.reserved_node_hours[r.partition] += r.node_hours;
  }
}

}  // namespace aifed::broker
