#include "sim/simulated_agent.h"

namespace aifed::sim {

Result<std::unique_ptr<SimulatedAgent>> SimulatedAgent::create(
    const SiteConfig& site, const Federation& federation, const agent::SimulatedBackendOptions& o) {
  auto backend = agent::SimulatedBackend::create(site.partitions, o);
  if (!backend.ok()) return invalidArgument("site " + site.id + ": " + backend.status().message());
  return std::unique_ptr<SimulatedAgent>(new SimulatedAgent(std::move(*backend), site, federation));
}

Result<agent::SubmittedJob> SimulatedAgent::StagedBackend::submit(const agent::JobTag& tag,
                                                                  const JobSpec& spec,
                                                                  const agent::LocalIdentity& as,
                                                                  Time now) {
  last_gb = 0;
  if (spec.datasets.empty()) return inner_.submit(tag, spec, as, now);
  broker::planStaging(spec, site_.id, fed_, plan_);
  Duration staging{0};
  for (const broker::StagingStep& step : plan_.steps) {
    if (!staged_.insert(step.dataset).second) continue;  // copied here before
    last_gb += step.size_gb;
    staging += Duration(static_cast<int64_t>(step.seconds * 1000.0));
  }
  if (staging.count() == 0) return inner_.submit(tag, spec, as, now);
  // Staging runs inside the allocation before the job proper (docs/simulator.md).
  JobSpec staged = spec;
  staged.walltime += staging;
  staged.simulated_runtime = staged.simulated_runtime.value_or(spec.walltime) + staging;
  return inner_.submit(tag, staged, as, now);
}

Result<std::optional<agent::DispatchRecord>> SimulatedAgent::MemoryLedger::findDispatch(
    const agent::JobTag& tag) {
  auto it = entries_.find(key(tag));
  if (it == entries_.end()) return std::optional<agent::DispatchRecord>();
  agent::DispatchRecord r;
  r.tag = tag;
  r.accepted = it->second.accepted;
  r.reason = it->second.reason;
  r.local_id = it->second.local_id;
  r.state = it->second.state;
  r.received_at = it->second.received_at;
  return std::optional<agent::DispatchRecord>(std::move(r));
}

Status SimulatedAgent::MemoryLedger::saveDispatch(const agent::DispatchRecord& record) {
  Entry& e = entries_[key(record.tag)];
  e.accepted = record.accepted;
  e.reason = record.reason;
  e.local_id = record.local_id;
  e.state = record.state;
  e.received_at = record.received_at;
  return Status::Ok();
}

}  // namespace aifed::sim
