// Broker::plan (planning.h): submit()'s admission, then the decision the next placement
// pass would take, over copies of its views. Nothing of the broker changes.
#include "coordinator/broker/planning.h"

#include "common/ids.h"
#include "coordinator/broker/admission.h"
#include "coordinator/broker/broker_impl.h"

namespace aifed::broker {
namespace {

double hours(Duration d) {
  return std::chrono::duration<double>(d).count() / 3600.0;
}

// Charges a dispatch to a copy of the views, as place() charges its own.
void charge(SiteView& target, const std::string& partition, const JobSpec& spec) {
  target.reserved_nodes[partition] += spec.nodes;
  target.reserved_node_hours[partition] += spec.nodes * hours(spec.walltime);
}

}  // namespace

std::string_view planActionName(PlanAction action) {
  switch (action) {
    case PlanAction::kDispatch:
      return "dispatch";
    case PlanAction::kHold:
      return "hold";
    case PlanAction::kWait:
      return "wait";
  }
  return "wait";
}

// The next pass decides every queued job again, in queue order, against views that its
// dispatches charge as it goes; a new job comes after every queued job of its priority or
// higher. So the plan decides those jobs first, as the pass would (without explanations:
// the cost of one placement pass). Under late binding the pass interleaves projects of
// equal priority by fair share; the plan keeps queue order, which differs only when jobs
// of several such projects could be dispatched at once.
void Broker::Impl::placeAhead(int priority, Instant now, std::vector<SiteView>& v,
                              DecisionBuffers& buffers) const {
  if (!sites.anyOpen()) return;  // nothing can be dispatched
  const Policy& policy = policies.active();
  PlacementDecision d;
  for (const auto& [neg_prio, seq] : queue.entries()) {
    if (-neg_prio < priority) break;  // the new job comes first from here on
    const JobRecord& j = jobs.at(seq);
    PlacementInput in{j, fed, now.wall, &allocations.usage()};
    policy.decide(in, v, d, DecideOptions{false, &buffers});
    if (holdIfLate(d) || d.chosen_site.empty()) continue;
    charge(v[*sites.find(d.chosen_site)], chosenVerdict(d)->partition, j.spec);
  }
}

Result<JobPlan> Broker::plan(const JobSpec& spec, Instant now) const {
  const Impl& m = *impl_;
  if (Status s = validateJobSpec(spec); !s.ok()) return s;
  if (Status s = checkAgainstFederation(spec, m.fed); !s.ok()) return s;
  std::vector<SiteView> views;
  m.viewsInto(views, now.mono);
  DecisionBuffers buffers;
  m.placeAhead(spec.priority, now, views, buffers);

  JobRecord job;
  job.id = common::formatJobId(m.jobs.nextSeq());
  job.spec = spec;
  job.submitted_at = job.updated_at = now.wall;
  JobPlan p;
  PlacementInput in{job, m.fed, now.wall, &m.allocations.usage()};
  m.policies.active().decide(in, views, p.decision, DecideOptions{true, &buffers});
  std::string best = p.decision.chosen_site;
  if (!best.empty()) p.partition = chosenVerdict(p.decision)->partition;
  if (m.holdIfLate(p.decision)) {
    p.action = PlanAction::kHold;
    p.site = std::move(best);
  } else if (!best.empty()) {
    p.action = PlanAction::kDispatch;
    p.site = std::move(best);
  }
  return p;
}

}  // namespace aifed::broker
