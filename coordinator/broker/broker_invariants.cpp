// The broker's invariants across its parts, checked after public calls in Debug builds
// (every test runs them): after every call while at most 256 jobs are in memory, after
// every k-th above (broker_impl.h, checkInvariantsAfterCall), so a test that breaks one
// fails where it happens, or within k calls in a large one.
#include <algorithm>
#include <cassert>

#include "coordinator/broker/broker_impl.h"

namespace aifed::broker {

void Broker::Impl::checkInvariantsAfterCall() {
#ifndef NDEBUG
  size_t every = std::max<size_t>(1, jobs.all().size() / kInvariantJobs);
  if (++calls_unchecked < every) return;
  calls_unchecked = 0;
  checkInvariants();
#endif
}

void Broker::Impl::checkInvariants() const {
#ifndef NDEBUG
  sites.checkInvariants();
  // The site table follows the federation's sites, index for index (placement pairs
  // each site's record with its configuration by position).
  assert(sites.size() == fed.sites.size());
  for (size_t i = 0; i < fed.sites.size(); ++i) assert(sites.record(i).id == fed.sites[i].id);
  jobs.checkInvariants();
  queue.checkInvariants(jobs, [this](int64_t seq) { return waits.waiting(seq); });
  waits.checkInvariants();
  arrays.checkInvariants(jobs);
  // Only queued jobs in memory are held by their dependencies.
  for (const auto& [seq, on] : waits.all()) {
    assert(jobs.all().count(seq) == 1 && jobs.at(seq).state == JobState::kQueued);
  }
  allocations.checkInvariants();
  for (const auto& [seq, j] : jobs.all()) {
    // A job names a site exactly while one holds it (an ended job keeps the last one).
    assert(!isActiveState(j.state) || sites.find(j.site));
    assert(j.state != JobState::kQueued || j.site.empty());
    // Sub-states belong to their phases: only an active job is being cancelled, only a
    // pending one withdrawn (the life cycle table sets and clears them).
    assert(!j.cancel_requested || isActiveState(j.state));
    assert(!j.withdrawing || (j.state == JobState::kPending && !j.cancel_requested));
    // A command is outstanding exactly while the job waits on one.
    assert(retries.outstanding(seq) == needsResend(j));
  }
  // Every outstanding command belongs to a job in memory (the loop above saw it).
  for (const auto& [seq, last] : retries.all()) assert(jobs.all().count(seq) == 1);
  // Reservations are held for active jobs at their own site.
  reservations.forEachHeld([&](const std::string& id, size_t site) {
    const JobRecord* j = jobs.find(id);
    assert(j && isActiveState(j->state) && sites.find(j->site) == site);
    (void)j;
    (void)site;
  });
  // Reconciliation and withdrawal entries leave with the phase they describe.
  for (const auto& [seq, since] : missing_since) {
    assert(jobs.all().count(seq) == 1 && isActiveState(jobs.at(seq).state));
  }
  for (const auto& [seq, why] : withdraw_why) {
    assert(jobs.all().count(seq) == 1 && jobs.at(seq).withdrawing);
  }
  // Ended jobs are dropped before a call returns when they are not kept.
  assert(ended_now.empty());
#endif
}

}  // namespace aifed::broker
