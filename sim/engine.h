// The federation-mode engine: a discrete-event simulation on a virtual clock that runs
// the coordinator's own broker (coordinator/broker, unchanged) and one simulated site
// per federation site (site-agent/backends SimulatedBackend: LocalScheduler FCFS/EASY
// per partition), wired by in-process message passing instead of ZeroMQ.
//
// What the broker sees is what it would see in production: HELLO, CAPACITY reports sent
// every `report_interval` (so it decides on stale data), optionally delayed and lost,
// DISPATCH_ACK and JOB_STATUS. Outages take a site away from t1 to t2: its running jobs
// are lost with it, its agent goes silent, and the broker's own liveness rules
// (suspect, unreachable, lease, re-queue) decide what happens to them.
//
// Events at one instant are processed in a fixed order (deterministic tie-break):
// outages, site completions (in site order), capacity deliveries, arrivals (in input
// order), then one broker tick, then message routing until quiet.
//
//   Result<RunResult> r = runFederation(federation, workload, {.policy = "earliest-start"});
//   Metrics m = computeMetrics(*r, federation);
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "coordinator/broker/policy.h"
#include "protocol/clock.h"
#include "protocol/federation.h"
#include "protocol/status.h"
#include "sim/workload.h"
#include "site-agent/backends/local_scheduler.h"

namespace aifed::sim {

struct Outage {
  std::string site;
  Time from{};
  Time to{};
};

struct EngineOptions {
  std::string policy = "earliest-start";
  // Policies on offer to the broker (BrokerConfig::policies): empty means the built-in
  // ones. `policy` must name one of them. aifed-sim's --policy-file and sweep use it.
  std::vector<broker::PolicySpec> policies;
  agent::SchedulerMode scheduler = agent::SchedulerMode::kEasy;
  Duration report_interval = std::chrono::seconds(60);  // CAPACITY period per site
  Duration report_delay{0};                             // transit time of a CAPACITY
  double report_loss = 0;                               // probability a CAPACITY is lost
  uint64_t seed = 1;                                    // for report loss
  std::vector<Outage> outages;
  // 0: the broker ticks (places) at every instant with work, as the daemon does after
  // every submission and message. > 0: placement runs at multiples of this period (a
  // scheduling cycle, like Slurm's sched_interval); deadlines still fire on time.
  Duration placement_cycle{0};
  // Jobs the broker refuses at submission (e.g. larger than every site): an error
  // naming the first one unless this is set, then they are counted and skipped.
  bool skip_unplaceable = false;
  // Called every ~1% of arrivals with (jobs submitted, total); for a progress bar.
  std::function<void(int64_t, int64_t)> progress;
};

// What happened to one job of the workload.
struct JobOutcome {
  int32_t site = -1;  // index in federation.sites of the site that ran it (-1: none)
  int32_t nodes = 0;
  int32_t gpus_per_node = 0;
  int32_t project = -1;  // index in RunResult::projects
  int64_t submit_ms = 0;
  int64_t start_ms = -1;  // -1: never started
  int64_t end_ms = -1;
  int32_t attempts = 0;
  bool rejected = false;   // refused by the broker at submission
  bool completed = false;  // reached completed/timeout at a site
  double staged_gb = 0;
};

struct RunResult {
  std::string policy;
  std::vector<JobOutcome> jobs;       // workload order
  std::vector<std::string> projects;  // project names, first-seen order
  int64_t events = 0;                 // discrete events processed
  int64_t messages = 0;               // protocol messages exchanged
  int64_t rejected = 0;
  int64_t lost = 0;  // jobs that ended lost or failed after a site loss
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  double wall_seconds = 0;
};

// kInvalidArgument for an unknown policy (listing broker::knownPolicies()), an outage
// naming an unknown site, or (without skip_unplaceable) a job the broker refuses,
// naming the job's origin ("lublin_256.swf:812") and the broker's reason.
Result<RunResult> runFederation(const Federation& federation, const Workload& workload,
                                const EngineOptions& options);

// Validates a policy name against the broker's built-in policies, or against
// `policies` when not empty: kInvalidArgument listing the known ones.
Status checkPolicy(const std::string& policy, const std::vector<broker::PolicySpec>& policies = {});

}  // namespace aifed::sim
