#include "site-agent/backends/simulated_backend.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <set>

#include "common/strings.h"

namespace aifed::agent {
namespace {

constexpr std::string_view kIdPrefix = "sim-";

std::string describeNodeType(const NodeType& t) {
  std::string out = t.accelerator.empty()
                        ? std::string("no accelerators")
                        : std::to_string(t.accelerators_per_node) + " x " + t.accelerator;
  out += ", " + std::to_string(t.cores) + " cores, " + std::to_string(t.memory_gib) + " GiB";
  return out;
}

// "8 x h100, 64 cores, 512 GiB": what one node must offer, only the parts the job asks.
std::string describeAsk(const JobSpec& spec) {
  std::vector<std::string> parts;
  if (spec.gpus_per_node > 0) {
    parts.push_back(std::to_string(spec.gpus_per_node) + " x " +
                    (spec.gpu_type.empty() ? std::string("any accelerator") : spec.gpu_type));
  }
  if (spec.cores_per_node > 0) parts.push_back(std::to_string(spec.cores_per_node) + " cores");
  if (spec.memory_gib_per_node > 0) {
    parts.push_back(std::to_string(spec.memory_gib_per_node) + " GiB");
  }
  return common::join(parts, ", ");
}

bool nodeFits(const JobSpec& spec, const NodeType& t) {
  if (spec.gpus_per_node > 0) {
    if (t.accelerator.empty()) return false;
    if (!spec.gpu_type.empty() && spec.gpu_type != t.accelerator) return false;
    if (spec.gpus_per_node > t.accelerators_per_node) return false;
  }
  if (spec.cores_per_node > t.cores) return false;
  if (spec.memory_gib_per_node > t.memory_gib) return false;
  return true;
}

std::string formatSeconds(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace

Result<std::unique_ptr<SimulatedBackend>> SimulatedBackend::create(
    const std::vector<PartitionConfig>& partitions, const SimulatedBackendOptions& options) {
  if (partitions.empty()) {
    return invalidArgument("a simulated site needs at least one partition", "partitions");
  }
  std::vector<Partition> built;
  std::set<std::string> names;
  for (size_t i = 0; i < partitions.size(); ++i) {
    const PartitionConfig& p = partitions[i];
    std::string field = "partitions[" + std::to_string(i) + "]";
    if (p.name.empty()) return invalidArgument("partition name must not be empty", field + ".name");
    if (!names.insert(p.name).second) {
      return invalidArgument("partition " + p.name + " is listed twice", field + ".name");
    }
    const NodeType& t = p.node_type;
    if (t.accelerators_per_node < 0 || t.cores < 0 || t.memory_gib < 0) {
      return invalidArgument("partition " + p.name + ": node counts must not be negative", field);
    }
    if (t.accelerator.empty() != (t.accelerators_per_node == 0)) {
      return invalidArgument(
          "partition " + p.name + ": an accelerator needs both a name and a count per node",
          field + ".accelerator");
    }
    Result<LocalScheduler> scheduler = LocalScheduler::create(p.nodes, options.mode);
    if (!scheduler.ok()) {
      return invalidArgument("partition " + p.name + ": " + scheduler.status().message(),
                             field + ".nodes");
    }
    built.push_back(Partition{p, std::move(*scheduler), {}, "queued in partition " + p.name});
  }
  return std::unique_ptr<SimulatedBackend>(new SimulatedBackend(std::move(built), options));
}

SimulatedBackend::SimulatedBackend(std::vector<Partition> partitions,
                                   SimulatedBackendOptions options)
    : partitions_(std::move(partitions)), options_(std::move(options)) {
  if (!options_.output_dir.empty()) output_.emplace(options_.output_dir, options_.site);
}

Status SimulatedBackend::setNodesDown(std::string_view partition, int count, Time now) {
  for (size_t i = 0; i < partitions_.size(); ++i) {
    if (partitions_[i].config.name != partition) continue;
    catchUp(now);
    Status s = partitions_[i].scheduler.setNodesDown(count, now_);
    for (const LocalSchedulerEvent& e : partitions_[i].scheduler.advance(now_)) apply(i, e);
    return s;
  }
  return notFound("no partition " + std::string(partition));
}

Result<size_t> SimulatedBackend::choosePartition(const JobSpec& spec) const {
  std::optional<size_t> largest;  // the largest partition whose nodes fit
  for (size_t i = 0; i < partitions_.size(); ++i) {
    const PartitionConfig& p = partitions_[i].config;
    if (!nodeFits(spec, p.node_type)) continue;
    if (p.nodes >= spec.nodes) return i;
    if (!largest || p.nodes > partitions_[*largest].config.nodes) largest = i;
  }
  if (largest) {
    const PartitionConfig& p = partitions_[*largest].config;
    return failedPrecondition("job needs " + std::to_string(spec.nodes) +
                              " nodes; largest matching partition " + p.name + " has " +
                              std::to_string(p.nodes));
  }
  std::string offers = common::join(partitions_, "; ", [](const Partition& p) {
    return p.config.name + ": " + describeNodeType(p.config.node_type);
  });
  return failedPrecondition("no partition offers " + describeAsk(spec) + " per node (" + offers +
                            ")");
}

Result<SubmittedJob> SimulatedBackend::submit(const JobTag& tag, const JobSpec& spec,
                                              const LocalIdentity& as, Time now) {
  (void)as;  // a simulated site runs everything as itself
  if (auto it = by_tag_.find({tag.job_id, tag.attempt}); it != by_tag_.end()) {
    SubmittedJob known = output_ ? output_->paths(tag) : SubmittedJob{};
    known.local_id = jobs_.at(it->second).current.local_id;  // never twice
    return known;
  }
  if (spec.nodes < 1) return invalidArgument("nodes must be at least 1", "nodes");
  if (spec.gpus_per_node < 0) return invalidArgument("must not be negative", "gpus_per_node");
  if (spec.cores_per_node < 0) return invalidArgument("must not be negative", "cores_per_node");
  if (spec.memory_gib_per_node < 0) {
    return invalidArgument("must not be negative", "memory_gib_per_node");
  }
  if (spec.walltime <= Duration::zero()) {
    return invalidArgument("walltime must be positive", "walltime");
  }
  if (spec.simulated_runtime && *spec.simulated_runtime < Duration::zero()) {
    return invalidArgument("simulated_runtime must not be negative", "simulated_runtime");
  }
  Result<size_t> index = choosePartition(spec);
  if (!index.ok()) return index.status();

  catchUp(now);
  Partition& partition = partitions_[*index];
  LocalJobRequest request{.nodes = spec.nodes,
                          .walltime = spec.walltime,
                          .runtime = spec.simulated_runtime.value_or(spec.walltime),
                          .priority = spec.priority};
  Result<LocalJobId> scheduler_id = partition.scheduler.submit(request, now_);
  // choosePartition() checked the node count and the spec checks above the rest.
  if (!scheduler_id.ok()) return internalError(scheduler_id.status().message());

  uint64_t number = next_job_++;
  SimJob job;
  job.tag = tag;
  job.partition = *index;
  job.scheduler_id = *scheduler_id;
  job.nodes = spec.nodes;
  job.exit_code = spec.simulated_exit_code;
  if (output_) job.script = spec.script;
  job.current.tag = tag;
  job.current.local_id = std::string(kIdPrefix) + std::to_string(number);
  job.current.state = JobState::kPending;
  job.current.submitted_at = now_;
  job.current.reason = partition.queued_reason;
  updates_.push_back(job.current);
  std::string local_id = job.current.local_id;
  jobs_.emplace(number, std::move(job));
  by_tag_.emplace(std::make_pair(tag.job_id, tag.attempt), number);
  partition.jobs.emplace(*scheduler_id, number);
  // The submit may have started the job (and others) at once.
  for (const LocalSchedulerEvent& e : partition.scheduler.advance(now_)) apply(*index, e);
  SubmittedJob submitted = output_ ? output_->paths(tag) : SubmittedJob{};
  submitted.local_id = local_id;
  return submitted;
}

Status SimulatedBackend::cancel(const std::string& local_id, Time now) {
  uint64_t number = 0;
  std::string_view rest(local_id);
  if (!rest.starts_with(kIdPrefix)) return notFound("no simulated job " + local_id);
  rest.remove_prefix(kIdPrefix.size());
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), number);
  auto it = jobs_.end();
  if (ec == std::errc() && ptr == rest.data() + rest.size()) it = jobs_.find(number);
  if (it == jobs_.end()) return notFound("no simulated job " + local_id);

  catchUp(now);
  SimJob& job = it->second;
  if (!job.active) return Status::Ok();  // finished already: cancelling changes nothing
  Partition& partition = partitions_[job.partition];
  size_t index = job.partition;
  Status s = partition.scheduler.cancel(job.scheduler_id, now_);
  for (const LocalSchedulerEvent& e : partition.scheduler.advance(now_)) apply(index, e);
  return s;
}

std::vector<LocalJobUpdate> SimulatedBackend::poll(Time now) {
  catchUp(now);
  std::vector<LocalJobUpdate> out;
  out.swap(updates_);
  return out;
}

void SimulatedBackend::pollInto(Time now, std::vector<LocalJobUpdate>& out) {
  catchUp(now);
  out.clear();
  out.swap(updates_);  // updates_ keeps out's storage for the next updates
}

Result<SiteCapacity> SimulatedBackend::capacity(Time now) {
  SiteCapacity cap;
  capacityInto(now, cap);
  return cap;
}

void SimulatedBackend::capacityInto(Time now, SiteCapacity& cap) {
  catchUp(now);
  cap.epoch = 0;
  cap.partitions.resize(partitions_.size());
  for (size_t i = 0; i < partitions_.size(); ++i) {
    const Partition& p = partitions_[i];
    LocalSchedulerCounts c = p.scheduler.counts();
    PartitionCapacity& pc = cap.partitions[i];
    pc.name = p.config.name;
    pc.node_type = p.config.node_type;
    pc.nodes_total = c.nodes_total;
    pc.nodes_idle = c.nodes_idle;
    pc.nodes_allocated = c.nodes_allocated;
    pc.nodes_down = c.nodes_down;
    pc.nodes_draining = c.nodes_draining;
    pc.pending_jobs = c.pending_jobs;
    pc.pending_node_hours = c.pending_node_hours;
    pc.running_jobs = c.running_jobs;
    pc.start_estimates.clear();
  }
}

std::vector<LocalJobUpdate> SimulatedBackend::activeJobs() const {
  std::vector<uint64_t> numbers;
  std::map<uint64_t, size_t> queue_position;  // pending jobs only
  for (const Partition& p : partitions_) {
    for (const auto& [scheduler_id, number] : p.jobs) numbers.push_back(number);
    std::vector<LocalJobId> order = p.scheduler.pendingInOrder();
    for (size_t i = 0; i < order.size(); ++i) queue_position[p.jobs.at(order[i])] = i;
  }
  std::sort(numbers.begin(), numbers.end());
  std::vector<LocalJobUpdate> out;
  out.reserve(numbers.size());
  for (uint64_t number : numbers) {
    const SimJob& job = jobs_.at(number);
    LocalJobUpdate u = job.current;
    if (auto it = queue_position.find(number); it != queue_position.end()) {
      u.reason = pendingReason(job, it->second);
    }
    out.push_back(std::move(u));
  }
  return out;
}

std::optional<Time> SimulatedBackend::nextEventTime() const {
  // Updates not yet polled are due now.
  std::optional<Time> next;
  if (!updates_.empty()) next = now_;
  for (const Partition& p : partitions_) {
    std::optional<Time> t = p.scheduler.nextEventTime();
    if (t && (!next || *t < *next)) next = t;
  }
  return next;
}

void SimulatedBackend::catchUp(Time now) {
  now_ = std::max(now, now_);
  // Each partition's events are in time order; a stable sort on time merges them and
  // keeps partition order for events at the same instant, so the result is deterministic.
  // (Called on every submit, poll and report: the buffer is reused, and one partition's
  // events need no merging.)
  std::vector<std::pair<size_t, LocalSchedulerEvent>>& events = merge_buffer_;
  events.clear();
  size_t sources = 0;
  for (size_t i = 0; i < partitions_.size(); ++i) {
    size_t before = events.size();
    for (const LocalSchedulerEvent& e : partitions_[i].scheduler.advance(now_)) {
      events.emplace_back(i, e);
    }
    sources += events.size() > before;
  }
  if (sources > 1) {
    std::stable_sort(events.begin(), events.end(),
                     [](const auto& a, const auto& b) { return a.second.at < b.second.at; });
  }
  for (const auto& [index, event] : events) apply(index, event);
}

void SimulatedBackend::apply(size_t index, const LocalSchedulerEvent& event) {
  Partition& partition = partitions_[index];
  auto it = partition.jobs.find(event.job);
  // Every scheduler job was entered in partition.jobs by submit() before its events
  // were drained, and leaves it only with its terminal event.
  assert(it != partition.jobs.end());
  SimJob& job = jobs_.at(it->second);
  LocalJobUpdate& u = job.current;
  switch (event.kind) {
    case LocalEventKind::kStarted:
      u.state = JobState::kRunning;
      u.started_at = event.at;
      // Appends into the kept string: no temporaries (one per job start).
      u.reason.assign("running on ").append(std::to_string(job.nodes));
      u.reason.append(job.nodes == 1 ? " node" : " nodes").append(" of partition ");
      u.reason.append(partition.config.name);
      break;
    case LocalEventKind::kFinished:
      u.state = job.exit_code == 0 ? JobState::kCompleted : JobState::kFailed;
      u.ended_at = event.at;
      u.exit_code = job.exit_code;
      u.reason = job.exit_code == 0 ? "" : "exit code " + std::to_string(job.exit_code);
      break;
    case LocalEventKind::kTimedOut:
      u.state = JobState::kTimeout;
      u.ended_at = event.at;
      u.reason = "killed at its walltime after " +
                 formatSeconds(event.at - u.started_at.value_or(event.at));
      break;
    case LocalEventKind::kCancelled:
      u.state = JobState::kCancelled;
      u.ended_at = event.at;
      u.reason = u.started_at ? "cancelled while running" : "cancelled while pending";
      break;
  }
  if (output_) writeOutput(job, partition.config.name, event);
  if (event.kind != LocalEventKind::kStarted) {
    job.active = false;
    uint64_t number = it->second;
    partition.jobs.erase(it);
    if (options_.forget_ended) {
      updates_.push_back(std::move(u));
      by_tag_.erase({job.tag.job_id, job.tag.attempt});
      jobs_.erase(number);
      return;
    }
  }
  updates_.push_back(u);
}

void SimulatedBackend::writeOutput(const SimJob& job, const std::string& partition,
                                   const LocalSchedulerEvent& event) const {
  const LocalJobUpdate& u = job.current;
  if (event.kind == LocalEventKind::kStarted) {
    output_->started(job.tag, job.script, partition, job.nodes, event.at);
  } else {
    output_->ended(job.tag, u.state, u.exit_code, u.reason, event.at);
  }
}

std::string SimulatedBackend::pendingReason(const SimJob& job, size_t position) const {
  const Partition& p = partitions_[job.partition];
  if (position == 0) {
    return "Resources: first in partition " + p.config.name + ", " +
           std::to_string(p.scheduler.counts().nodes_idle) + " nodes idle";
  }
  return "Priority: " + std::to_string(position) + " jobs ahead in partition " + p.config.name;
}

}  // namespace aifed::agent
