// The agent of one simulated federation site, as the simulator's engine drives it: the
// site's local scheduler (SimulatedBackend), the agent's own handling of DISPATCH and
// CANCEL (agent::JobCommands, the code aifed-agent runs, with its dispatch records in
// memory), and data staging inside the job's allocation.
//
// Staging follows the broker's plan (coordinator/broker/staging.h), so the estimate the
// broker scored and the time the site spends agree: every data set the site does not hold
// is copied before the job proper runs, from the best-connected site that holds it; the
// job's walltime and runtime grow by the copy time. Once copied, a data set stays at the
// site for the rest of the site's life (a cache without eviction).
//
//   auto site = SimulatedAgent::create(config, federation, options);
//   std::optional<DispatchAck> ack = (*site)->dispatch(d, now);
//   double gb = (*site)->lastStagedGb();
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "coordinator/broker/staging.h"
#include "protocol/federation.h"
#include "site-agent/backends/simulated_backend.h"
#include "site-agent/job_commands.h"

namespace aifed::sim {

class SimulatedAgent {
 public:
  // kInvalidArgument naming the site when its partitions are not a valid model.
  static Result<std::unique_ptr<SimulatedAgent>> create(const SiteConfig& site,
                                                        const Federation& federation,
                                                        const agent::SimulatedBackendOptions& o);

  agent::SimulatedBackend& backend() { return *backend_; }
  // The answer to a DISPATCH (the simulated scheduler always answers).
  std::optional<DispatchAck> dispatch(const Dispatch& d, Time now) {
    return commands_.dispatch(d, now);
  }
  // True when the local job was asked to stop.
  bool cancel(const Cancel& c, Time now) { return commands_.cancel(c, now).cancelled; }
  // GB staged for the last job submitted.
  double lastStagedGb() const { return staged_.last_gb; }
  // The job's attempt ended: its record is dropped (memory follows the active jobs).
  void ended(const agent::JobTag& tag) { ledger_.forget(tag); }

 private:
  // The local scheduler with staging in front of it.
  class StagedBackend final : public agent::Backend {
   public:
    StagedBackend(agent::SimulatedBackend& inner, const SiteConfig& site, const Federation& fed)
        : inner_(inner), site_(site), fed_(fed) {}
    // Backend
    std::string_view kind() const override { return inner_.kind(); }
    Result<agent::SubmittedJob> submit(const agent::JobTag& tag, const JobSpec& spec,
                                       const agent::LocalIdentity& as, Time now) override;
    Status cancel(const std::string& local_id, Time now) override {
      return inner_.cancel(local_id, now);
    }
    std::vector<agent::LocalJobUpdate> poll(Time now) override { return inner_.poll(now); }
    Result<SiteCapacity> capacity(Time now) override { return inner_.capacity(now); }
    std::vector<agent::LocalJobUpdate> activeJobs() const override { return inner_.activeJobs(); }
    std::optional<Time> nextEventTime() const override { return inner_.nextEventTime(); }

    double last_gb = 0;

   private:
    agent::SimulatedBackend& inner_;
    const SiteConfig& site_;
    const Federation& fed_;
    std::set<std::string> staged_;  // data sets already copied here
    broker::StagingPlan plan_;      // reused from job to job
  };

  // agent::DispatchLedger in memory: what JobCommands needs of each active attempt.
  class MemoryLedger final : public agent::DispatchLedger {
   public:
    // DispatchLedger
    Result<std::optional<agent::DispatchRecord>> findDispatch(const agent::JobTag& tag) override;
    Status saveDispatch(const agent::DispatchRecord& record) override;
    void forget(const agent::JobTag& tag) { entries_.erase(key(tag)); }

   private:
    struct Entry {
      bool accepted = false;
      std::string reason;
      std::string local_id;
      JobState state = JobState::kPending;
      Time received_at{};
    };
    static std::string key(const agent::JobTag& tag) {
      return tag.job_id + "#" + std::to_string(tag.attempt);
    }
    std::unordered_map<std::string, Entry> entries_;
  };

  SimulatedAgent(std::unique_ptr<agent::SimulatedBackend> backend, const SiteConfig& site,
                 const Federation& fed)
      : backend_(std::move(backend)), staged_(*backend_, site, fed), commands_(staged_, ledger_) {}

  std::unique_ptr<agent::SimulatedBackend> backend_;
  StagedBackend staged_;
  MemoryLedger ledger_;
  agent::JobCommands commands_;
};

}  // namespace aifed::sim
