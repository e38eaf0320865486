// The pending queue: the jobs waiting at the coordinator, in the order placement
// considers them, and which of them have been decided since they joined or since the
// policy changed.
//
// Order: priority (higher first), then submission order. Under late binding, jobs of
// equal priority are handed out by federation-wide fair share (PlacementOrder): the
// project whose decayed usage over its share is lowest goes next, re-evaluated after
// every dispatch so one pass shares capacity out the way many would.
//
// While no site is open a pass can place nothing and a decided job has nothing new to
// learn, so only the undecided are walked: takeUndecided() hands out the entries that
// joined undecided since the last pass. Intake then costs in proportion to the new jobs,
// not the backlog.
//
//   PendingQueue queue;
//   queue.add(seq, priority);                  // submitted, or re-queued
//   PlacementOrder order(queue.entries(), jobs, ledger, late, now);
//   while (auto seq = order.next()) { ...decide...; queue.markDecided(*seq); }
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "coordinator/broker/allocation_ledger.h"
#include "coordinator/broker/job_table.h"

namespace aifed::broker {

class PendingQueue {
 public:
  // (-priority, seq): the set's order is the placement order.
  using Entry = std::pair<int, int64_t>;

  void add(int64_t seq, int priority);
  void remove(int64_t seq, int priority);
  bool empty() const { return queue_.empty(); }
  size_t size() const { return queue_.size(); }
  const std::set<Entry>& entries() const { return queue_; }
  bool contains(int64_t seq, int priority) const { return queue_.count({-priority, seq}) > 0; }

  // Whether job `seq` was decided since it was submitted or the policy changed. The flag
  // outlives a stay in the queue: a job re-queued after a refusal counts as decided.
  bool decided(int64_t seq) const {
    return static_cast<size_t>(seq) < decided_.size() && decided_[static_cast<size_t>(seq)];
  }
  void markDecided(int64_t seq);
  // The job left memory: its flag is cleared.
  void forget(int64_t seq);
  // The policy changed: every queued job is undecided again.
  void markAllUndecided();

  // The entries that joined undecided since the last call and are still queued and
  // undecided, in placement order (a buffer kept from call to call). Clears the list.
  const std::set<Entry>& takeUndecided();
  // Forgets the list of undecided entries (a pass that decides the whole queue).
  void clearUndecided() { undecided_.clear(); }

  // Debug builds: the queue holds exactly the queued jobs of `jobs` that are not held
  // elsewhere (`held`: by their dependencies).
  void checkInvariants(const JobTable& jobs,
                       const std::function<bool(int64_t)>& held = {}) const;

 private:
  std::set<Entry> queue_;
  std::vector<uint8_t> decided_;  // by seq
  // Appended cheaply; takeUndecided() drops what left the queue or was decided meanwhile.
  std::vector<Entry> undecided_;
  std::set<Entry> undecided_now_;
};

// Hands out queued jobs in the order placement considers them (see above). A snapshot:
// dispatching while iterating does not disturb it.
class PlacementOrder {
 public:
  PlacementOrder(const std::set<PendingQueue::Entry>& entries, const JobTable& jobs,
                 const AllocationLedger& ledger, bool late_binding, Time now);
  std::optional<int64_t> next();
  // A job of `project` was dispatched: its usage grew.
  void charged(const std::string& project);

 private:
  struct Lane {
    std::vector<int64_t> seqs;  // the queue's own order: priority, then seq
    size_t pos = 0;
    double ratio = 0;
  };
  bool better(const Lane& a, const Lane& b) const;

  const JobTable& jobs_;
  const AllocationLedger& ledger_;
  Time now_;
  bool late_ = false;
  std::vector<int64_t> flat_;
  size_t pos_ = 0;
  std::map<std::string, Lane> by_project_;
};

}  // namespace aifed::broker
