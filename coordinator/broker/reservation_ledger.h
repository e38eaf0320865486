// The reservation ledger: nodes held at a site for the jobs dispatched there, until the
// site's own capacity report accounts for them. Capacity reports are stale by nature;
// without this a burst of submissions between two reports would all be told "starts
// now" on the same idle nodes (docs/placement.md, "Reservations between reports").
//
//   reserve ──> held ──acknowledge(epoch e)──> acknowledged ──report epoch > e──> released
//                 │                                 │
//                 ├──── release (refused, ended) ───┴────────────────────────> released
//                 └──── held for `timeout` (acknowledged or not) ─────────────> expired
//
// A report whose epoch is above the one the site had reported when it acknowledged the
// job was taken after the job reached the local scheduler, so it counts the job itself.
// Times are monotonic.
//
//   ReservationLedger ledger(std::chrono::minutes(2));
//   ledger.reserve("j-7", site, "gpu", 4, 4.0, now.mono);
//   ledger.acknowledge("j-7", sites.record(site).capacity->epoch);
//   ledger.onReport(site, report_epoch);      // releases j-7 once the epoch is newer
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/clock.h"

namespace aifed::broker {

struct SiteView;

class ReservationLedger {
 public:
  explicit ReservationLedger(Duration timeout) : timeout_(timeout) {}

  // Holds `nodes` of `partition` at `site` for `job_id` (replacing what it held).
  // An empty partition holds nodes at the site without a partition to count them in.
  void reserve(const std::string& job_id, size_t site, std::string partition, int nodes,
               double node_hours, MonoTime now);
  // The partition of a reservation made without one (after a restart).
  void setPartition(const std::string& job_id, std::string partition);
  // The site accepted the job while its last report had `epoch`. Idempotent.
  void acknowledge(const std::string& job_id, uint64_t epoch);
  // Nothing is held for the job any more (refused, ended, lost, withdrawn).
  void release(const std::string& job_id);
  // A capacity report with `epoch` from `site`: releases the acknowledged reservations
  // it accounts for.
  void onReport(size_t site, uint64_t epoch);
  // Releases every reservation held for `timeout`.
  void expire(MonoTime now);
  std::optional<MonoTime> nextDeadline() const;

  bool holds(const std::string& job_id) const { return held_.count(job_id) > 0; }
  size_t size() const { return held_.size(); }
  int reservedNodes(size_t site) const;
  // The sites were renumbered (SiteTable::reconfigure): old index i is now
  // `new_index[i]`. No reservation may be held at a removed site (-1).
  void remapSites(const std::vector<int32_t>& new_index);
  // Adds the nodes and node-hours held to each view's partitions (views in site order).
  void addTo(std::vector<SiteView>& views) const;
  // The same, leaving out what expire(now) would release.
  void addLiveTo(std::vector<SiteView>& views, MonoTime now) const;
  // Calls f(job_id, site) for every reservation (the broker's Debug checks).
  template <typename F>
  void forEachHeld(F&& f) const {
    for (const auto& [id, r] : held_) f(id, r.site);
  }

 private:
  struct Reservation {
    size_t site = 0;
    std::string partition;
    int nodes = 0;
    double node_hours = 0;
    MonoTime created{};
    bool acknowledged = false;
    uint64_t release_after_epoch = 0;  // released by a report with a larger epoch
  };

  Duration timeout_;
  // By job id: addTo() sums node-hours in this order, which the simulator's outputs
  // depend on to the last bit.
  std::map<std::string, Reservation> held_;
};

}  // namespace aifed::broker
