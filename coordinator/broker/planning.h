// Planning: what the broker would decide for a job spec now, without queueing it
// (sbatch --test-only across sites; REST POST /api/v1/jobs/plan, docs/placement.md,
// "Plan before submit").
//
//   Result<JobPlan> p = broker.plan(spec, now);      // const: changes nothing
//   if (!p.ok()) ...                                  // what submit() would refuse
//   else if (p->action == PlanAction::kDispatch) ... p->site, p->partition
//
// The plan runs submit()'s admission checks and then the active policy over the same site
// views the next placement pass would use: capacity, site liveness as of `now`,
// reservations held for other jobs (those that would have expired by `now` left out), and
// the queued jobs that pass
// would decide before this one, placed first as it would place them. Late
// binding holds a plan exactly as it would hold the job. Submitting the same spec right
// after therefore takes the same site, unless something changes in between (a capacity
// report, a heartbeat deadline, another submission).
#pragma once

#include <string>
#include <string_view>

#include "coordinator/broker/records.h"

namespace aifed::broker {

// What placement would do with the job now.
enum class PlanAction {
  kDispatch,  // sent to `site` at once
  kHold,      // late binding: kept at the coordinator; `site` is where it would go
  kWait,      // no site can take it now; it waits in the queue
};
// "dispatch", "hold", "wait".
std::string_view planActionName(PlanAction action);

struct JobPlan {
  PlanAction action = PlanAction::kWait;
  std::string site;       // dispatch: the chosen site; hold: the best site; wait: ""
  std::string partition;  // of `site`
  // The full decision as explain shows it (chosen_site empty unless dispatched); its
  // job_id is the id the job would get if submitted now.
  PlacementDecision decision;
};

}  // namespace aifed::broker
