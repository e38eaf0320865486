#include "site-agent/backends/local_scheduler.h"

#include <algorithm>
#include <cassert>
#include <string>

namespace aifed::agent {

std::string_view schedulerModeName(SchedulerMode mode) {
  switch (mode) {
    case SchedulerMode::kFcfs:
      return "fcfs";
    case SchedulerMode::kEasy:
      return "easy";
    case SchedulerMode::kConservative:
      return "conservative";
  }
  return "unknown";
}

Result<SchedulerMode> parseSchedulerMode(std::string_view name) {
  for (SchedulerMode m :
       {SchedulerMode::kFcfs, SchedulerMode::kEasy, SchedulerMode::kConservative}) {
    if (schedulerModeName(m) == name) return m;
  }
  return invalidArgument(
      "unknown scheduler '" + std::string(name) + "' (known: fcfs, easy, conservative)",
      "scheduler");
}

std::string_view localEventKindName(LocalEventKind kind) {
  switch (kind) {
    case LocalEventKind::kStarted:
      return "started";
    case LocalEventKind::kFinished:
      return "finished";
    case LocalEventKind::kTimedOut:
      return "timed_out";
    case LocalEventKind::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

LocalScheduler::LocalScheduler(int nodes, SchedulerMode mode) : nodes_(nodes), mode_(mode) {
  // A partition without nodes could never run anything; create() rejects it.
  assert(nodes >= 1);
}

Result<LocalScheduler> LocalScheduler::create(int nodes, SchedulerMode mode) {
  if (nodes < 1) {
    return invalidArgument("a partition needs at least 1 node, got " + std::to_string(nodes),
                           "nodes");
  }
  return LocalScheduler(nodes, mode);
}

Result<LocalJobId> LocalScheduler::submit(const LocalJobRequest& request, Time now) {
  if (request.nodes < 1 || request.nodes > nodes_) {
    return invalidArgument("job needs " + std::to_string(request.nodes) +
                               " nodes; the partition has " + std::to_string(nodes_),
                           "nodes");
  }
  if (request.walltime <= Duration::zero()) {
    return invalidArgument("walltime must be positive", "walltime");
  }
  if (request.runtime < Duration::zero()) {
    return invalidArgument("runtime must not be negative", "runtime");
  }
  bringUpTo(now);
  LocalJobId id = next_id_++;
  Job job;
  job.request = request;
  jobs_.emplace(id, job);
  queue_.insert(queueKey(id, request));
  pending_node_ms_ += static_cast<int64_t>(request.nodes) * request.walltime.count();
  schedule(now_);
  return id;
}

Status LocalScheduler::cancel(LocalJobId id, Time now) {
  if (id == 0 || id >= next_id_) {
    return notFound("no local job " + std::to_string(id));
  }
  bringUpTo(now);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return Status::Ok();  // already ended: nothing to do
  finish(id, LocalEventKind::kCancelled, now_);
  schedule(now_);
  return Status::Ok();
}

Status LocalScheduler::setNodesDown(int count, Time now) {
  if (count < 0 || count > nodes_) {
    return invalidArgument(
        "nodes down must be within 0.." + std::to_string(nodes_) + ", got " + std::to_string(count),
        "nodes_down");
  }
  bringUpTo(now);
  nodes_down_target_ = count;
  schedule(now_);
  return Status::Ok();
}

std::vector<LocalSchedulerEvent> LocalScheduler::advance(Time now) {
  bringUpTo(now);
  std::vector<LocalSchedulerEvent> out;
  out.swap(events_);
  return out;
}

std::optional<Time> LocalScheduler::nextEventTime() const {
  if (ends_.empty()) return std::nullopt;
  return ends_.begin()->first;
}

LocalSchedulerCounts LocalScheduler::counts() const {
  LocalSchedulerCounts c;
  c.nodes_total = nodes_;
  // Nodes asked to go down are taken from the empty ones first; the rest are busy and
  // drain: they go down when their job ends.
  int empty = nodes_ - allocated_;
  c.nodes_down = std::min(nodes_down_target_, empty);
  c.nodes_draining = nodes_down_target_ - c.nodes_down;
  c.nodes_allocated = allocated_ - c.nodes_draining;
  c.nodes_idle = empty - c.nodes_down;
  c.pending_jobs = static_cast<int>(queue_.size());
  c.running_jobs = static_cast<int>(ends_.size());
  c.pending_node_hours = static_cast<double>(pending_node_ms_) / 3'600'000.0;
  return c;
}

std::optional<HeadReservation> LocalScheduler::headReservation() const {
  if (queue_.empty()) return std::nullopt;
  LocalJobId head = queue_.begin()->second;
  int need = jobs_.at(head).request.nodes;
  if (need <= freeNodes()) return HeadReservation{head, now_};
  return HeadReservation{head, shadow(need).first};
}

std::vector<HeadReservation> LocalScheduler::reservations() const {
  return conservativePlan(/*until_full=*/false);
}

std::vector<LocalJobId> LocalScheduler::pendingInOrder() const {
  std::vector<LocalJobId> out;
  out.reserve(queue_.size());
  for (const QueueKey& k : queue_) out.push_back(k.second);
  return out;
}

bool LocalScheduler::isPending(LocalJobId id) const {
  auto it = jobs_.find(id);
  return it != jobs_.end() && !it->second.started_at;
}

bool LocalScheduler::isRunning(LocalJobId id) const {
  auto it = jobs_.find(id);
  return it != jobs_.end() && it->second.started_at.has_value();
}

void LocalScheduler::bringUpTo(Time now) {
  now = std::max(now, now_);
  // Completions in time order; after all completions at one instant, one scheduling
  // pass at that instant, so freed nodes are reused when they are freed, not at `now`.
  // Jobs started by that pass may themselves end before `now` (or at once).
  while (!ends_.empty() && ends_.begin()->first <= now) {
    Time t = ends_.begin()->first;
    while (!ends_.empty() && ends_.begin()->first == t) {
      LocalJobId id = ends_.begin()->second;
      const Job& job = jobs_.at(id);
      finish(id, job.times_out ? LocalEventKind::kTimedOut : LocalEventKind::kFinished, t);
    }
    now_ = t;
    schedule(t);
  }
  now_ = now;
}

int LocalScheduler::freeNodes() const {
  return std::max(0, nodes_ - nodes_down_target_ - allocated_);
}

std::pair<Time, int> LocalScheduler::shadow(int head_nodes) const {
  int usable = nodes_ - nodes_down_target_;
  if (head_nodes > usable) return {Time::max(), 0};  // waits for nodes to come back
  int free = usable - allocated_;
  for (auto it = requested_ends_.begin(); it != requested_ends_.end();) {
    Time t = it->first;
    // Every job whose requested end is t frees its nodes at t.
    for (; it != requested_ends_.end() && it->first == t; ++it) free += it->second;
    if (free >= head_nodes) return {t, free - head_nodes};
  }
  // Unreachable: once every running job has ended, free == usable >= head_nodes.
  assert(false);
  return {Time::max(), 0};
}

namespace {

// Nodes available over time: a step function, `avail` from `at` until the next step's
// `at` (the last step lasts for ever). Conservative backfilling's availability profile.
struct Step {
  Time at;
  int avail;
};

// The first index of `profile` at which `nodes` are available for `walltime` on end
// (the last step has every in-service node, so a job that fits in the partition fits
// there at the latest), or profile.size() if the job needs more than that.
size_t earliestFit(const std::vector<Step>& profile, int nodes, Duration walltime) {
  size_t i = 0;
  while (i < profile.size()) {
    if (profile[i].avail < nodes) {
      ++i;
      continue;
    }
    Time end = profile[i].at + walltime;
    size_t j = i + 1;
    while (j < profile.size() && profile[j].at < end && profile[j].avail >= nodes) ++j;
    if (j == profile.size() || profile[j].at >= end) return i;
    i = j + 1;  // step j is too full: no start at or before it can work
  }
  return profile.size();
}

// Takes `nodes` from step `i` for `walltime`, splitting the step where it ends.
void reserve(std::vector<Step>& profile, size_t i, int nodes, Duration walltime) {
  Time end = profile[i].at + walltime;
  size_t j = i;
  while (j + 1 < profile.size() && profile[j + 1].at <= end) ++j;
  // Step j holds `end`: split it unless it starts there.
  if (profile[j].at < end) {
    profile.insert(profile.begin() + static_cast<std::ptrdiff_t>(j) + 1,
                   Step{end, profile[j].avail});
  } else {
    --j;  // profile[j].at == end: the reservation stops before step j
  }
  for (size_t k = i; k <= j; ++k) profile[k].avail -= nodes;
}

}  // namespace

std::vector<HeadReservation> LocalScheduler::conservativePlan(bool until_full) const {
  std::vector<HeadReservation> plan;
  int usable = nodes_ - nodes_down_target_;
  // Free nodes now (negative while more nodes are draining than are idle), then more
  // at every running job's requested end.
  std::vector<Step> profile{{now_, usable - allocated_}};
  for (const auto& [end, nodes] : requested_ends_) {
    if (end > profile.back().at) {
      profile.push_back({end, profile.back().avail + nodes});
    } else {
      profile.back().avail += nodes;
    }
  }
  if (until_full && profile.front().avail <= 0) return plan;
  for (const QueueKey& key : queue_) {
    const LocalJobRequest& r = jobs_.at(key.second).request;
    size_t i = r.nodes > usable ? profile.size() : earliestFit(profile, r.nodes, r.walltime);
    if (i == profile.size()) {
      plan.push_back({key.second, Time::max()});  // waits for nodes to come back
      continue;
    }
    plan.push_back({key.second, profile[i].at});
    reserve(profile, i, r.nodes, r.walltime);
    if (until_full && profile.front().avail <= 0) break;
  }
  return plan;
}

void LocalScheduler::schedule(Time now) {
  if (mode_ == SchedulerMode::kConservative) {
    // Reservations are planned afresh at every pass, in queue order; the jobs whose
    // reservation is now start now. Starting them changes no reservation: a running
    // job holds the same nodes for the same time as its reservation did.
    for (const HeadReservation& r : conservativePlan(/*until_full=*/true)) {
      if (r.at == now) start(r.job, jobs_.at(r.job), now);
    }
    return;
  }
  // Start from the head while jobs fit (FCFS and EASY).
  while (!queue_.empty()) {
    LocalJobId id = queue_.begin()->second;
    Job& job = jobs_.at(id);
    if (job.request.nodes > freeNodes()) break;
    start(id, job, now);
  }
  if (mode_ != SchedulerMode::kEasy || queue_.empty()) return;

  // EASY: the head is blocked; reserve its start at the shadow time and let later jobs
  // through only if they cannot delay it.
  LocalJobId head = queue_.begin()->second;
  auto [shadow_time, extra] = shadow(jobs_.at(head).request.nodes);
  auto it = std::next(queue_.begin());
  while (it != queue_.end() && freeNodes() > 0) {
    LocalJobId id = it->second;
    ++it;  // start() erases the job's queue entry
    Job& job = jobs_.at(id);
    int n = job.request.nodes;
    if (n > freeNodes()) continue;
    // Time::max() (no reservation possible yet) is checked first: now + walltime
    // would overflow.
    bool ends_by_shadow = shadow_time == Time::max() || now + job.request.walltime <= shadow_time;
    if (ends_by_shadow) {
      start(id, job, now);
    } else if (n <= extra) {
      extra -= n;
      start(id, job, now);
    }
  }
}

void LocalScheduler::start(LocalJobId id, Job& job, Time now) {
  queue_.erase(queueKey(id, job.request));
  pending_node_ms_ -= static_cast<int64_t>(job.request.nodes) * job.request.walltime.count();
  job.started_at = now;
  job.times_out = job.request.runtime > job.request.walltime;
  job.ends_at = now + std::min(job.request.runtime, job.request.walltime);
  job.requested_end = now + job.request.walltime;
  allocated_ += job.request.nodes;
  ends_.emplace(job.ends_at, id);
  requested_ends_.emplace(job.requested_end, job.request.nodes);
  events_.push_back({id, LocalEventKind::kStarted, now});
}

void LocalScheduler::finish(LocalJobId id, LocalEventKind kind, Time at) {
  auto it = jobs_.find(id);
  // Callers pass only ids of jobs they found pending or running.
  assert(it != jobs_.end());
  Job& job = it->second;
  if (job.started_at) {
    ends_.erase({job.ends_at, id});
    auto r = requested_ends_.find({job.requested_end, job.request.nodes});
    // Every running job has exactly one entry, inserted by start().
    assert(r != requested_ends_.end());
    requested_ends_.erase(r);
    allocated_ -= job.request.nodes;
  } else {
    queue_.erase(queueKey(id, job.request));
    pending_node_ms_ -= static_cast<int64_t>(job.request.nodes) * job.request.walltime.count();
  }
  events_.push_back({id, kind, at});
  jobs_.erase(it);
}

}  // namespace aifed::agent
