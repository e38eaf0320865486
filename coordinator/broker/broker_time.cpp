// The broker's deadlines, all on the monotonic clock: site liveness and leases, jobs a
// HELLO left out, command retries, and when the next of them falls due.
#include "coordinator/broker/broker_impl.h"

namespace aifed::broker {

void Broker::Impl::advanceSites(Instant now, Effects& fx) {
  changed_sites.clear();
  expired_sites.clear();
  sites.advance(now, changed_sites, expired_sites);
  for (size_t i : changed_sites) emitSite(i, fx);
  for (size_t i : expired_sites) {
    const std::string& site = sites.record(i).id;
    std::vector<int64_t> at_site;
    for (int64_t seq : jobs.active()) {
      if (jobs.at(seq).site == site) at_site.push_back(seq);
    }
    for (int64_t seq : at_site) {
      JobRecord& j = jobs.at(seq);
      if (j.spec.requeue_on_site_loss || j.cancel_requested) {
        // Its agent stopped it when it had been cut off for the same lease (a user's
        // cancel ends it cancelled): it runs nowhere now and may be placed again.
        loseJob(j, seq, "site " + site + " unreachable for longer than the job lease", now, fx);
      } else {
        // It may not be re-placed: it keeps running there and waits for its site.
        j.reason = "site " + site +
                   " unreachable for longer than the job lease; the job may not be re-placed "
                   "and waits for its site";
        j.updated_at = now.wall;
        emit(j, fx);
      }
    }
  }
}

void Broker::Impl::expireMissing(Instant now, Effects& fx) {
  std::vector<int64_t> due;
  for (const auto& [seq, since] : missing_since) {
    if (now.mono - since >= missingGrace()) due.push_back(seq);
  }
  for (int64_t seq : due) {
    missing_since.erase(seq);
    JobRecord& j = jobs.at(seq);  // entries leave with the job's active phase
    loseJob(j, seq, "site " + j.site + " no longer holds attempt " + std::to_string(j.attempt),
            now, fx);
  }
}

void Broker::Impl::retry(Instant now, Effects& fx) {
  for (size_t i = 0; i < sites.size(); ++i) cancelQuarantined(i, now, /*all=*/false, fx);
  retries.forEachDue(now.mono, [&](int64_t seq) {
    JobRecord& j = jobs.at(seq);
    if (j.site.empty() || !sites.canSend(siteOf(j))) return false;
    j.last_sent_at = now.wall;
    switch (phaseOf(j)) {
      case JobPhase::kDispatched:
        send(j.site, dispatchOf(j), fx);
        break;
      case JobPhase::kPendingWithdrawing:
        send(j.site, withdrawal(j), fx);
        break;
      default:  // a ·cancelling phase: the user's CANCEL
        send(j.site, Cancel{j.id, j.attempt, "cancelled by user"}, fx);
        break;
    }
    return true;
  });
}

std::optional<MonoTime> Broker::Impl::nextDeadline() const {
  std::optional<MonoTime> next = sites.nextDeadline();
  auto consider = [&](std::optional<MonoTime> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  consider(retries.nextDeadline([&](int64_t seq) {
    const JobRecord& j = jobs.at(seq);
    return !j.site.empty() && sites.canSend(siteOf(j));
  }));
  for (const auto& [seq, since] : missing_since) consider(since + missingGrace());
  consider(reservations.nextDeadline());
  return next;
}

}  // namespace aifed::broker
