#include "coordinator/broker/quarantine.h"

#include "common/ids.h"

namespace aifed::broker {
namespace {

// The seq of a job id, 0 for an id the coordinator could not have made.
int64_t seqOf(const std::string& id) {
  return common::parseJobSeq(id).value_or(0);
}

}  // namespace

bool Quarantine::report(const std::string& site, const std::string& job_id, int attempt,
                        const std::string& local_id, JobState state, Time now) {
  Key key{site, job_id, attempt};
  auto [it, fresh] = held_.try_emplace(key);
  QuarantinedJob& q = it->second;
  if (fresh) {
    q.site = site;
    q.job_id = job_id;
    q.attempt = attempt;
    q.first_seen = now;
    highest_seq_ = std::max(highest_seq_, seqOf(job_id));
  }
  bool changed = fresh || q.state != state || (!local_id.empty() && q.local_id != local_id);
  if (!local_id.empty()) q.local_id = local_id;
  q.state = state;
  q.last_seen = now;
  return changed;
}

Result<QuarantinedJob> Quarantine::decide(const Key& key, QuarantineAction action,
                                          const std::string& actor, Time now) {
  auto it = held_.find(key);
  if (it == held_.end()) {
    return notFound("no quarantined attempt " + std::get<1>(key) + " attempt " +
                    std::to_string(std::get<2>(key)) + " at site " + std::get<0>(key));
  }
  QuarantinedJob& q = it->second;
  if (!q.decision.empty()) {
    return failedPrecondition("attempt " + q.job_id + "/" + std::to_string(q.attempt) + " at " +
                              q.site + " was decided already: " + q.decision + " by " +
                              q.decided_by);
  }
  q.decision = action == QuarantineAction::kCancel ? "cancel" : "release";
  q.decided_by = actor;
  q.decided_at = now;
  return q;
}

const QuarantinedJob* Quarantine::find(const Key& key) const {
  auto it = held_.find(key);
  return it == held_.end() ? nullptr : &it->second;
}

std::vector<const QuarantinedJob*> Quarantine::cancelling(const std::string& site) const {
  std::vector<const QuarantinedJob*> out;
  for (const auto& [key, q] : held_) {
    if (q.site == site && q.decision == "cancel" && !isTerminal(q.state)) out.push_back(&q);
  }
  return out;
}

void Quarantine::restore(std::vector<QuarantinedJob> stored) {
  for (QuarantinedJob& q : stored) {
    highest_seq_ = std::max(highest_seq_, seqOf(q.job_id));
    Key key{q.site, q.job_id, q.attempt};
    held_[key] = std::move(q);
  }
}

}  // namespace aifed::broker
