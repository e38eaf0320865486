#include "site-agent/usage_reports.h"

#include <algorithm>

namespace aifed::agent {
namespace {

JobUsage fromRecord(const DispatchRecord& r) {
  JobUsage u;
  u.job_id = r.tag.job_id;
  u.attempt = r.tag.attempt;
  u.local_id = r.local_id;
  u.source = "scheduler";
  if (r.started_at && r.ended_at) {
    u.elapsed = std::max(Duration::zero(), *r.ended_at - *r.started_at);
  }
  bool ran = r.started_at.has_value();
  u.nodes = ran ? r.spec.nodes : 0;
  u.gpus = ran ? r.spec.nodes * r.spec.gpus_per_node : 0;
  u.state = std::string(jobStateName(r.state));
  u.local_user = r.identity.user;
  u.account = r.identity.account;
  return u;
}

}  // namespace

Result<std::optional<JobUsage>> usageOf(Backend& backend, const DispatchRecord& r, Time now,
                                        Duration give_up) {
  if (!backend.keepsAccounting()) return std::optional<JobUsage>(fromRecord(r));
  Result<std::optional<LocalUsage>> found = backend.usage(r.local_id, now);
  if (!found.ok()) return found.status();
  if (!*found) {
    Time ended = r.ended_at.value_or(r.updated_at);
    if (now - ended < give_up) return std::optional<JobUsage>();
    JobUsage u = fromRecord(r);
    u.source = "scheduler";  // the accounting never recorded it
    return std::optional<JobUsage>(std::move(u));
  }
  const LocalUsage& l = **found;
  JobUsage u;
  u.job_id = r.tag.job_id;
  u.attempt = r.tag.attempt;
  u.local_id = r.local_id;
  u.source = "sacct";
  u.elapsed = l.elapsed;
  u.nodes = l.nodes;
  u.gpus = l.gpus;
  u.tres = l.tres;
  u.exit_code = l.exit_code;
  u.state = l.state;
  u.local_user = l.local_user.empty() ? r.identity.user : l.local_user;
  u.account = l.account.empty() ? r.identity.account : l.account;
  return std::optional<JobUsage>(std::move(u));
}

}  // namespace aifed::agent
