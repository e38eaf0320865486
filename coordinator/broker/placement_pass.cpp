// The broker's placement pass: each queued job, in the pending queue's order, through the
// active policy; late binding holds a job whose best site cannot start it soon; and
// withdrawal takes back jobs that wait at one site while another could start them now.
#include "coordinator/broker/broker_impl.h"

namespace aifed::broker {
namespace {

double hours(Duration d) {
  return std::chrono::duration<double>(d).count() / 3600.0;
}

// A site "could start it now" when its estimated start is within this.
constexpr double kStartsNowS = 1.0;

}  // namespace

Cancel Broker::Impl::withdrawal(const JobRecord& j) {
  Cancel c{j.id, j.attempt, "withdrawn by the coordinator"};
  c.only_if_pending = true;
  return c;
}

void Broker::Impl::fillViews() {
  views.resize(sites.size());
  for (size_t i = 0; i < sites.size(); ++i) {
    SiteView& v = views[i];
    v.config = &fed.sites[i];
    v.record = &sites.record(i);
    v.liveness = sites.liveness(i);
    v.reserved_nodes.clear();
    v.reserved_node_hours.clear();
  }
  reservations.addTo(views);
}

void Broker::Impl::recordDecision(int64_t seq, PlacementDecision& d, Effects& fx) {
  queue.markDecided(seq);
  records->decided(d, fx);
}

// Late binding: a feasible choice whose queue wait exceeds the threshold is held at the
// coordinator; the decision says where it would go and when. Only the queue wait counts:
// data staging starts after binding, so holding the job cannot shorten it (counting it
// would hold a job with a large remote data set for ever).
void Broker::Impl::holdIfLate(PlacementDecision& d) const {
  const PolicySpec& spec = policies.active().spec();
  if (spec.binding != BindingMode::kLate || d.chosen_site.empty()) return;
  const SiteVerdict* best = chosenVerdict(d);
  double limit_s = std::chrono::duration<double>(spec.bind_within).count();
  if (best->queue_wait_s <= limit_s) return;
  d.summary = "held at the coordinator: the best site, " + best->site + ", starts it " +
              formatStart(best->queue_wait_s) + "; binds when a site can start it " +
              formatStart(limit_s);
  d.chosen_site.clear();
}

void Broker::Impl::place(Instant now, Effects& fx) {
  if (queue.empty()) {
    queue.clearUndecided();
    return;
  }
  // With no site open nothing can be dispatched and a decided job has nothing new to
  // learn: only the undecided are walked. Every job in the pass gets a decision.
  bool open = sites.anyOpen();
  const std::set<PendingQueue::Entry>* entries = &queue.entries();
  if (open) {
    queue.clearUndecided();
  } else {
    entries = &queue.takeUndecided();
  }
  fillViews();
  const Policy& policy = policies.active();
  DecideOptions options{records->explains(), &decide_buffers};
  // A snapshot of the entries: dispatching removes jobs from the queue.
  PlacementOrder order(*entries, jobs, allocations,
                       policy.spec().binding == BindingMode::kLate, now.wall);
  while (std::optional<int64_t> seq = order.next()) {
    JobRecord& j = jobs.at(*seq);
    if (!open && queue.decided(*seq)) continue;  // nothing could have changed
    if (throttle(j, fx)) continue;  // its array has max_running tasks at sites
    PlacementInput in{j, fed, now.wall, &allocations.usage()};
    policy.decide(in, views, decision, options);
    holdIfLate(decision);
    if (!decision.chosen_site.empty()) {
      std::string partition = chosenVerdict(decision)->partition;
      dispatch(j, *seq, decision, partition, now, fx);
      order.charged(j.spec.project);
      SiteView& target = views[siteOf(j)];
      target.reserved_nodes[partition] += j.spec.nodes;
      target.reserved_node_hours[partition] += j.spec.nodes * hours(j.spec.walltime);
    }
    recordDecision(*seq, decision, fx);
  }
}

// Jobs pending at a site for longer than the policy's withdraw_after, while another site
// could start them now, are asked back (CANCEL only_if_pending). Nothing else changes
// until the site answers: the job stays held there until it reports kCancelled
// (completeWithdrawal re-queues it) or kRunning (the withdrawal lapses).
void Broker::Impl::withdraw(Instant now, Effects& fx) {
  const PolicySpec& spec = policies.active().spec();
  if (spec.withdraw_after <= Duration::zero()) return;
  std::vector<int64_t> due;
  for (int64_t seq : jobs.active()) {
    const JobRecord& j = jobs.at(seq);
    if (phaseOf(j) != JobPhase::kPending) continue;
    if (!j.dispatched_at || now.wall - *j.dispatched_at < spec.withdraw_after) continue;
    if (j.attempt >= cfg.max_attempts || !sites.canSend(siteOf(j))) continue;
    due.push_back(seq);
  }
  if (due.empty()) return;
  fillViews();
  DecideOptions options{records->explains(), &decide_buffers};
  for (int64_t seq : due) {
    JobRecord& j = jobs.at(seq);
    PlacementInput in{j, fed, now.wall, &allocations.usage()};
    PlacementDecision& d = decision;
    policies.active().decide(in, views, d, options);
    const SiteVerdict* best = nullptr;
    for (const SiteVerdict& sv : d.verdicts) {
      if (!sv.feasible || sv.site == j.site || sv.estimated_start_s > kStartsNowS) continue;
      if (!best || sv.score > best->score) best = &sv;
    }
    if (!best) continue;
    int64_t waited_s = static_cast<int64_t>(
        std::chrono::duration<double>(now.wall - *j.dispatched_at).count());
    withdraw_why[seq] = "withdrawn from " + j.site + " after " + std::to_string(waited_s) +
                        " s pending: " + best->site + " could start it now";
    d.chosen_site.clear();
    d.attempt = 0;
    d.summary = "withdrawal from " + j.site + " requested after " + std::to_string(waited_s) +
                " s pending: " + best->site + " could start it now";
    (void)transition(j, seq, JobEvent::kRequestWithdraw, now);
    j.last_sent_at = now.wall;
    retries.sent(seq, now.mono);
    send(j.site, withdrawal(j), fx);
    emit(j, fx);
    recordDecision(seq, d, fx);
  }
}

}  // namespace aifed::broker
