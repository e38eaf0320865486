// A Backend decorator for demos: the wrapped (simulated) site runs `speedup` times
// faster than the jobs' own figures, so a one-hour fine-tuning job finishes in a
// minute of wall time at speedup 60. Walltime and simulated runtime are divided on the
// way in; pending node-hours are multiplied on the way out, so the coordinator sees
// figures in the jobs' own terms. Everything else passes through unchanged.
//
//   auto sim = SimulatedBackend::create(partitions, {});
//   TimeScaledBackend fast(std::move(*sim), 60.0);
#pragma once

#include <memory>

#include "site-agent/backends/backend.h"

namespace aifed::agent {

class TimeScaledBackend final : public Backend {
 public:
  TimeScaledBackend(std::unique_ptr<Backend> inner, double speedup)
      : inner_(std::move(inner)), speedup_(speedup > 0 ? speedup : 1.0) {}

  // Backend
  std::string_view kind() const override { return inner_->kind(); }
  Result<SubmittedJob> submit(const JobTag& tag, const JobSpec& spec, const LocalIdentity& as,
                              Time now) override {
    JobSpec fast = spec;
    fast.walltime = scale(spec.walltime);
    if (spec.simulated_runtime) fast.simulated_runtime = scale(*spec.simulated_runtime);
    return inner_->submit(tag, fast, as, now);
  }
  Status cancel(const std::string& local_id, Time now) override {
    return inner_->cancel(local_id, now);
  }
  std::vector<LocalJobUpdate> poll(Time now) override { return inner_->poll(now); }
  Result<SiteCapacity> capacity(Time now) override {
    Result<SiteCapacity> cap = inner_->capacity(now);
    if (cap.ok()) {
      for (PartitionCapacity& p : cap->partitions) p.pending_node_hours *= speedup_;
    }
    return cap;
  }
  std::vector<LocalJobUpdate> activeJobs() const override { return inner_->activeJobs(); }
  std::optional<Time> nextEventTime() const override { return inner_->nextEventTime(); }
  BackendHealth health(Time now) const override { return inner_->health(now); }

 private:
  Duration scale(Duration d) const {
    // At least 1 ms so a job never becomes zero-length.
    return std::max(Duration(1), Duration(static_cast<int64_t>(d.count() / speedup_)));
  }

  std::unique_ptr<Backend> inner_;
  double speedup_;
};

}  // namespace aifed::agent
