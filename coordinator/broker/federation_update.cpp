// Broker::updateFederation and Broker::activeJobsAt (broker.h): the federation file
// re-read at run time (coordinator/federation_reload.h decides what changed; this
// applies it to the parts). Sites are renumbered in the new file's order; the parts
// holding site indexes (reservations, dropped jobs) follow.
#include <algorithm>

#include "coordinator/broker/broker.h"
#include "coordinator/broker/broker_impl.h"

namespace aifed::broker {
namespace {

// "j-1, j-2, j-3, j-4, j-5, ..." for the first kJobsNamed of `ids`.
std::string nameJobs(const std::vector<std::string>& ids) {
  std::string named;
  for (size_t k = 0; k < std::min(ids.size(), Broker::kJobsNamed); ++k) {
    named += (k ? ", " : "") + ids[k];
  }
  if (ids.size() > Broker::kJobsNamed) named += ", ...";
  return named;
}

// Queued jobs that may run only at sites `next` no longer has: they would wait forever.
std::vector<std::string> strandedJobs(const JobTable& jobs, const Federation& next) {
  std::vector<std::string> ids;
  for (const auto& [seq, j] : jobs.all()) {
    if (j.state != JobState::kQueued || j.spec.allowed_sites.empty()) continue;
    bool reachable = std::any_of(j.spec.allowed_sites.begin(), j.spec.allowed_sites.end(),
                                 [&](const std::string& s) { return next.findSite(s); });
    if (!reachable) ids.push_back(j.id);
    if (ids.size() > Broker::kJobsNamed) break;
  }
  return ids;
}

}  // namespace

std::vector<std::string> Broker::activeJobsAt(const std::string& site, size_t limit) const {
  const Impl& m = *impl_;
  std::vector<std::string> ids;
  for (int64_t seq : m.jobs.active()) {
    if (ids.size() >= limit) break;
    const JobRecord& j = m.jobs.at(seq);
    if (j.site == site) ids.push_back(j.id);
  }
  return ids;
}

Status Broker::updateFederation(Federation next, Instant now, Effects& fx) {
  Impl& m = *impl_;
  if (next.name != m.fed.name) {
    return invalidArgument("the federation's name may not change (\"" + m.fed.name +
                               "\" to \"" + next.name + "\"): a new federation needs a restart",
                           "federation.name");
  }
  // A site leaving must hold no job: its agent could no longer report how they end.
  for (const SiteConfig& old : m.fed.sites) {
    if (next.findSite(old.id)) continue;
    std::vector<std::string> held = activeJobsAt(old.id, kJobsNamed + 1);
    if (held.empty()) continue;
    return failedPrecondition("site " + old.id + " still holds active jobs (" +
                              nameJobs(held) + "): drain it and let them end before removing it");
  }
  // Nor may a queued job be left with no site it allows.
  if (std::vector<std::string> stranded = strandedJobs(m.jobs, next); !stranded.empty()) {
    return failedPrecondition("queued jobs (" + nameJobs(stranded) +
                              ") may run only at sites this file removes: cancel them, or keep "
                              "a site they allow");
  }
  Impl::CallGuard guard(m);
  std::vector<int32_t> new_index = m.sites.reconfigure(next);
  m.reservations.remapSites(new_index);
  m.jobs.remapSites(new_index);
  for (size_t i = 0; i < m.sites.size(); ++i) {
    bool added = !m.fed.findSite(m.sites.record(i).id);
    if (added) m.emitSite(i, fx);  // a new site's record is stored at once
  }
  m.fed = std::move(next);
  (void)now;
  return Status::Ok();
}

}  // namespace aifed::broker
