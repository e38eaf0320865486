#include "site-agent/job_commands.h"

namespace aifed::agent {
namespace {

// The answer to a DISPATCH, from its record: the same for a repeat as for the first.
DispatchAck ackOf(const DispatchRecord& r) {
  DispatchAck ack;
  ack.job_id = r.tag.job_id;
  ack.attempt = r.tag.attempt;
  ack.accepted = r.accepted;
  ack.reason = r.reason;
  ack.local_id = r.local_id;
  if (!r.accepted) ack.rule = r.rule;
  if (r.accepted) {
    ack.local_user = r.identity.user;
    ack.account = r.identity.account;
    ack.stdout_path = r.stdout_path;
    ack.stderr_path = r.stderr_path;
  }
  return ack;
}

}  // namespace

std::optional<DispatchAck> JobCommands::dispatch(const Dispatch& d, Time now) {
  stats_.received++;
  JobTag tag{d.job_id, d.attempt};
  Result<std::optional<DispatchRecord>> known = ledger_.findDispatch(tag);
  if (!known.ok()) {
    // Without the idempotency record we must not submit: the coordinator will retry.
    logError("cannot read dispatch record: " + known.status().toString());
    return std::nullopt;
  }
  if (known->has_value() && ((*known)->accepted || !(*known)->reason.empty())) {
    // A repeated DISPATCH: answer as before, never run it twice.
    stats_.duplicates++;
    return ackOf(**known);
  }
  DispatchRecord record;
  record.tag = tag;
  record.spec = d.spec;
  record.received_at = known->has_value() ? (*known)->received_at : now;
  record.updated_at = now;
  // Recorded before the local scheduler sees it: after a crash here the record tells
  // the restarted agent this dispatch was seen.
  if (Status s = ledger_.saveDispatch(record); !s.ok()) {
    logError("cannot persist dispatch " + d.job_id + ": " + s.toString());
    return std::nullopt;
  }
  JobSpec spec = d.spec;
  if (admission_ != nullptr) {
    std::variant<Admitted, RuleRefusal> verdict = admission_->admit(d.spec);
    if (const RuleRefusal* no = std::get_if<RuleRefusal>(&verdict)) return refuse(record, *no);
    Admitted& yes = std::get<Admitted>(verdict);
    if (yes.stripped_directives > 0) {
      logError(d.job_id + ": removed " + std::to_string(yes.stripped_directives) +
               " #SBATCH line(s) from its script (the site's rules strip them)");
    }
    spec = std::move(yes.spec);
    record.identity = std::move(yes.identity);
  }
  Result<SubmittedJob> local = backend_.submit(tag, spec, record.identity, now);
  record.identity.home.clear();  // not part of the record
  if (!local.ok()) {
    if (local.status().code() == StatusCode::kUnavailable) {
      // The local scheduler is not answering: no answer, the coordinator retries.
      logError("backend unavailable for " + d.job_id + ": " + local.status().message());
      return std::nullopt;
    }
    stats_.rejected++;
    record.reason = local.status().message();
    record.state = JobState::kFailed;
    if (Status s = ledger_.saveDispatch(record); !s.ok()) logError(s.toString());
    return ackOf(record);
  }
  record.accepted = true;
  record.local_id = std::move(local->local_id);
  record.stdout_path = std::move(local->stdout_path);
  record.stderr_path = std::move(local->stderr_path);
  record.state = JobState::kPending;
  if (Status s = ledger_.saveDispatch(record); !s.ok()) {
    logError("cannot persist local id for " + d.job_id + ": " + s.toString());
  }
  return ackOf(record);
}

DispatchAck JobCommands::refuse(DispatchRecord& record, const RuleRefusal& no) {
  stats_.rejected++;
  record.reason = no.reason;
  record.rule = no.rule;
  record.state = JobState::kFailed;
  record.identity = LocalIdentity{};
  if (Status s = ledger_.saveDispatch(record); !s.ok()) logError(s.toString());
  return ackOf(record);
}

CancelOutcome JobCommands::cancel(const Cancel& c, Time now, const std::function<void()>& refresh) {
  CancelOutcome out;
  JobTag tag{c.job_id, c.attempt};
  Result<std::optional<DispatchRecord>> known = ledger_.findDispatch(tag);
  if (!known.ok() || !known->has_value() || !(*known)->accepted || isTerminal((*known)->state)) {
    out.acknowledge = true;  // unknown or ended: nothing to do
    return out;
  }
  if (c.only_if_pending) {
    // A withdrawal: only a job that has not started may go. A started (or ended) job
    // stays, and its JOB_STATUS tells the coordinator why the withdrawal did not happen.
    if (refresh) refresh();
    bool pending = false;
    for (const LocalJobUpdate& j : backend_.activeJobs()) {
      if (j.tag == tag) pending = j.state == JobState::kPending;
    }
    if (!pending) {
      out.acknowledge = true;
      return out;
    }
  }
  Status s = backend_.cancel((*known)->local_id, now);
  if (!s.ok() && s.code() == StatusCode::kUnavailable) {
    logError("cannot cancel " + c.job_id + " now: " + s.message());
    return out;  // no answer: the coordinator retries
  }
  out.acknowledge = true;
  out.cancelled = true;
  out.withdrawn = c.only_if_pending;
  if (out.withdrawn) withdrawn_.insert({c.job_id, c.attempt});
  return out;
}

bool JobCommands::stopForLease(const DispatchRecord& record, Time now) {
  if (!record.accepted || isTerminal(record.state) || !record.spec.requeue_on_site_loss) {
    return false;
  }
  Status s = backend_.cancel(record.local_id, now);
  if (!s.ok() && s.code() != StatusCode::kNotFound) {
    logError("cannot stop " + record.tag.job_id + " at the end of its lease: " + s.message());
    return false;
  }
  stopped_by_lease_.insert({record.tag.job_id, record.tag.attempt});
  return true;
}

JobStatus statusOf(const LocalJobUpdate& u) {
  JobStatus s;
  statusInto(LocalJobUpdate(u), s);
  return s;
}

void statusInto(LocalJobUpdate&& u, JobStatus& s) {
  s.job_id = std::move(u.tag.job_id);
  s.attempt = u.tag.attempt;
  s.local_id = std::move(u.local_id);
  s.state = u.state;
  s.submitted_at = u.submitted_at;
  s.started_at = u.started_at;
  s.ended_at = u.ended_at;
  s.exit_code = u.exit_code;
  s.reason = std::move(u.reason);
}

}  // namespace aifed::agent
