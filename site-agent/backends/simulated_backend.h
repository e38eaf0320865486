// SimulatedBackend: a whole simulated site behind the Backend interface. Each
// configured partition is a LocalScheduler (FCFS or EASY over modelled nodes); a job
// goes to the first partition, in configuration order, whose node type fits it and
// that has enough nodes. Jobs "run" for spec.simulated_runtime (default: their
// walltime) and end with spec.simulated_exit_code. docs/local-scheduler.md has the rules.
//
// Used by the agent when a site has no Slurm (the embedded default and the demo) and
// by tests; the offline simulator (sim/engine.h) runs one per federation site, with
// forget_ended set.
//
//   SimulatedBackendOptions options;
//   options.mode = SchedulerMode::kEasy;
//   auto sim = SimulatedBackend::create(site.partitions, options);
//   if (!sim.ok()) return sim.status();
//   Result<SubmittedJob> job = (*sim)->submit({"job-1", 1}, spec, {}, clock.now());  // "sim-1"
//   for (const LocalJobUpdate& u : (*sim)->poll(clock.now())) report(u);
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "protocol/federation.h"
#include "site-agent/backends/backend.h"
#include "site-agent/backends/local_scheduler.h"
#include "site-agent/backends/simulated_output.h"

namespace aifed::agent {

struct SimulatedBackendOptions {
  SchedulerMode mode = SchedulerMode::kEasy;
  // Drop a job as soon as it ends (its final update is still returned by poll()), so
  // memory grows with the active jobs only. A later submit() of the same tag then makes
  // a new job, and cancel() of its id answers kNotFound. For the offline simulator,
  // which never repeats a submission; the agent keeps every job (default).
  bool forget_ended = false;
  // When set, every job writes its output files there (simulated_output.h) and submit()
  // returns their paths; `site` names the site in them. The agent sets it; the offline
  // simulator does not (its jobs have no output).
  std::string output_dir{};
  std::string site{};
};

class SimulatedBackend final : public Backend {
 public:
  // kInvalidArgument if `partitions` is empty, a name is empty or repeated, a partition
  // has fewer than 1 node, or a node type is inconsistent (negative counts, an
  // accelerator name without a count or a count without a name).
  static Result<std::unique_ptr<SimulatedBackend>> create(
      const std::vector<PartitionConfig>& partitions, const SimulatedBackendOptions& options = {});

  // Takes `count` nodes of `partition` out of service from `now` on (0: all back).
  // Running jobs are not killed: their nodes drain. kNotFound for an unknown
  // partition; kInvalidArgument for a count outside 0..nodes.
  Status setNodesDown(std::string_view partition, int count, Time now);

  // Backend
  std::string_view kind() const override { return "simulated"; }
  Result<SubmittedJob> submit(const JobTag& tag, const JobSpec& spec, const LocalIdentity& as,
                              Time now) override;
  Status cancel(const std::string& local_id, Time now) override;
  std::vector<LocalJobUpdate> poll(Time now) override;
  Result<SiteCapacity> capacity(Time now) override;
  std::vector<LocalJobUpdate> activeJobs() const override;
  std::optional<Time> nextEventTime() const override;

  // poll() into an existing vector (replacing its contents), so the simulator polling
  // every site at every instant does not allocate.
  void pollInto(Time now, std::vector<LocalJobUpdate>& out);
  // Whether poll() has something to return now (as of the last call that caught up).
  bool hasUpdates() const { return !updates_.empty(); }
  // capacity() into an existing value, reusing its storage (the simulator reports every
  // site every minute of simulated time).
  void capacityInto(Time now, SiteCapacity& out);

 private:
  struct Partition {
    PartitionConfig config;
    LocalScheduler scheduler;
    std::map<LocalJobId, uint64_t> jobs;  // scheduler id -> our job number
    std::string queued_reason;            // "queued in partition <name>", built once
  };
  struct SimJob {
    JobTag tag;
    size_t partition = 0;
    LocalJobId scheduler_id = 0;
    int nodes = 1;
    int exit_code = 0;
    bool active = true;      // pending or running
    std::string script;      // with output files only: its echo lines go to stdout
    LocalJobUpdate current;  // the last state reported
  };

  SimulatedBackend(std::vector<Partition> partitions, SimulatedBackendOptions options);

  // Index of the partition that takes `spec`, or the reason none does.
  Result<size_t> choosePartition(const JobSpec& spec) const;
  // Brings every partition up to `now`, appending their events to updates_ in time order.
  void catchUp(Time now);
  void apply(size_t partition, const LocalSchedulerEvent& event);
  // The job's output files at its start or end (with output_ only).
  void writeOutput(const SimJob& job, const std::string& partition,
                   const LocalSchedulerEvent& event) const;
  // Why a pending job waits, given its place in its partition's queue (0: the head).
  std::string pendingReason(const SimJob& job, size_t position) const;

  std::vector<Partition> partitions_;
  SimulatedBackendOptions options_;
  std::optional<SimulatedOutput> output_;  // when options_.output_dir is set
  Time now_{};
  uint64_t next_job_ = 1;
  struct TagHash {
    size_t operator()(const std::pair<std::string, int>& t) const {
      return std::hash<std::string>()(t.first) * 31 + static_cast<size_t>(t.second);
    }
  };
  // Every job ever submitted (with forget_ended: every active one), by number; never
  // iterated, so hashed.
  std::unordered_map<uint64_t, SimJob> jobs_;
  std::unordered_map<std::pair<std::string, int>, uint64_t, TagHash> by_tag_;
  std::vector<LocalJobUpdate> updates_;                               // not yet returned by poll()
  std::vector<std::pair<size_t, LocalSchedulerEvent>> merge_buffer_;  // catchUp()'s
};

}  // namespace aifed::agent
