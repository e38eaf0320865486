#include "coordinator/broker/pending_queue.h"

#include <cassert>

namespace aifed::broker {

void PendingQueue::add(int64_t seq, int priority) {
  queue_.insert({-priority, seq});
  if (!decided(seq)) undecided_.emplace_back(-priority, seq);
}

void PendingQueue::remove(int64_t seq, int priority) {
  queue_.erase({-priority, seq});
}

void PendingQueue::markDecided(int64_t seq) {
  if (static_cast<size_t>(seq) >= decided_.size()) decided_.resize(static_cast<size_t>(seq) + 1);
  decided_[static_cast<size_t>(seq)] = 1;
}

void PendingQueue::forget(int64_t seq) {
  if (static_cast<size_t>(seq) < decided_.size()) decided_[static_cast<size_t>(seq)] = 0;
}

void PendingQueue::markAllUndecided() {
  for (const Entry& e : queue_) forget(e.second);
  undecided_.assign(queue_.begin(), queue_.end());
}

const std::set<PendingQueue::Entry>& PendingQueue::takeUndecided() {
  undecided_now_.clear();
  for (const Entry& e : undecided_) {
    if (queue_.count(e) && !decided(e.second)) undecided_now_.insert(e);
  }
  undecided_.clear();
  return undecided_now_;
}

void PendingQueue::checkInvariants(const JobTable& jobs,
                                   const std::function<bool(int64_t)>& held) const {
#ifndef NDEBUG
  size_t queued = 0;
  for (const auto& [seq, j] : jobs.all()) {
    if (j.state != JobState::kQueued) continue;
    if (held && held(seq)) {
      assert(queue_.count({-j.spec.priority, seq}) == 0);
      continue;
    }
    // Every queued job waits in the queue under its own priority...
    assert(queue_.count({-j.spec.priority, seq}) == 1);
    ++queued;
  }
  // ...and the queue holds nothing else.
  assert(queued == queue_.size());
#else
  (void)jobs;
  (void)held;
#endif
}

PlacementOrder::PlacementOrder(const std::set<PendingQueue::Entry>& entries, const JobTable& jobs,
                               const AllocationLedger& ledger, bool late_binding, Time now)
    : jobs_(jobs), ledger_(ledger), now_(now), late_(late_binding) {
  for (const auto& [prio, seq] : entries) {
    if (!late_) {
      flat_.push_back(seq);
      continue;
    }
    const std::string& project = jobs.at(seq).spec.project;
    auto [it, fresh] = by_project_.try_emplace(project);
    if (fresh) it->second.ratio = ledger.shareRatio(project, now);
    it->second.seqs.push_back(seq);
  }
}

std::optional<int64_t> PlacementOrder::next() {
  if (!late_) {
    if (pos_ >= flat_.size()) return std::nullopt;
    return flat_[pos_++];
  }
  Lane* best = nullptr;
  for (auto& [project, lane] : by_project_) {
    if (lane.pos >= lane.seqs.size()) continue;
    if (!best || better(lane, *best)) best = &lane;
  }
  if (!best) return std::nullopt;
  return best->seqs[best->pos++];
}

void PlacementOrder::charged(const std::string& project) {
  if (!late_) return;
  auto it = by_project_.find(project);
  if (it != by_project_.end()) it->second.ratio = ledger_.shareRatio(project, now_);
}

bool PlacementOrder::better(const Lane& a, const Lane& b) const {
  const JobRecord& ja = jobs_.at(a.seqs[a.pos]);
  const JobRecord& jb = jobs_.at(b.seqs[b.pos]);
  if (ja.spec.priority != jb.spec.priority) return ja.spec.priority > jb.spec.priority;
  if (a.ratio != b.ratio) return a.ratio < b.ratio;
  return a.seqs[a.pos] < b.seqs[b.pos];
}

}  // namespace aifed::broker
