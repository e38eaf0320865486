// What a site agent does with the coordinator's DISPATCH and CANCEL: one implementation
// for the aifed-agent daemon and for the simulator's sites, which differ only in where
// they keep their dispatch records (a DispatchLedger: SQLite in the daemon, memory in the
// simulator) and in the backend they drive.
//
// DISPATCH, exactly-once in effect: a repeated (job_id, attempt) is answered as it was
// the first time and never submitted again; a new one is recorded before the local
// scheduler sees it (a crash in between leaves a record, never a stray job), then
// submitted. No answer is given while the records or the scheduler cannot be reached:
// the coordinator resends.
//
// CANCEL: cancels the attempt if this site holds it and it has not ended. A withdrawal
// (only_if_pending) cancels only a job still waiting in the local queue; a started one is
// left alone and its JOB_STATUS tells the coordinator. Unknown or ended attempts need
// nothing and are acknowledged.
//
//   JobCommands commands(backend, store);
//   if (std::optional<DispatchAck> ack = commands.dispatch(d, now)) send(*ack);
//   if (commands.cancel(c, now, [&] { reportUpdates(now); }).acknowledge) send(Ack{...});
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "protocol/messages.h"
#include "site-agent/backends/backend.h"
#include "site-agent/site_admission.h"

namespace aifed::agent {

// The agent's record of one attempt it was sent: the idempotency key of DISPATCH.
struct DispatchRecord {
  JobTag tag;
  JobSpec spec;
  bool accepted = false;
  std::string reason;    // rejection reason when !accepted
  std::string local_id;  // empty until the backend accepted it
  JobState state = JobState::kPending;
  Time received_at{};
  Time updated_at{};
  // The sequence number of the attempt's latest JOB_STATUS (JobStatus::seq).
  uint64_t status_seq = 0;
  // When the local scheduler started and ended it, as it reported (for the operator, and
  // for the chaos suite's check that no two attempts of a job ever ran at once).
  std::optional<Time> started_at;
  std::optional<Time> ended_at;
  // Who it runs as and under which terms (the identity mapping and the site's rules), and
  // where its output goes, once accepted.
  LocalIdentity identity;
  std::string stdout_path;
  std::string stderr_path;
  // When refused by a site rule: which one (RuleRefusal::rule), for a repeated DISPATCH.
  std::string rule;
  // Its usage at the site has been put in the outbox (JOB_USAGE) once it ended.
  bool usage_reported = false;
  bool operator==(const DispatchRecord&) const = default;
};

// Where an agent keeps its dispatch records.
class DispatchLedger {
 public:
  virtual ~DispatchLedger() = default;
  virtual Result<std::optional<DispatchRecord>> findDispatch(const JobTag& tag) = 0;
  // Inserts or replaces the record for record.tag.
  virtual Status saveDispatch(const DispatchRecord& record) = 0;
};

// The outcome of a CANCEL.
struct CancelOutcome {
  bool acknowledge = false;  // false: not now (the scheduler is not answering), resent later
  bool cancelled = false;    // the local job was asked to stop
  bool withdrawn = false;    // ...as a withdrawal
};

class JobCommands {
 public:
  // Reports a failure that changes no answer (a record that could not be updated).
  using ErrorLog = std::function<void(const std::string&)>;

  // `admission`: the site's rules and identity mapping, checked on every DISPATCH before
  // the backend sees it (null: none, every job runs as the agent's account).
  JobCommands(Backend& backend, DispatchLedger& ledger, ErrorLog log = {},
              SiteAdmission* admission = nullptr)
      : backend_(backend), ledger_(ledger), log_(std::move(log)), admission_(admission) {}

  // The answer to a DISPATCH, or nullopt when none can be given now.
  std::optional<DispatchAck> dispatch(const Dispatch& d, Time now);
  // `refresh` brings the backend's view of its jobs up to date before a withdrawal
  // checks that the job still waits (the daemon reports what changed meanwhile).
  CancelOutcome cancel(const Cancel& c, Time now, const std::function<void()>& refresh = {});

  // Whether the job's ended state should read "withdrawn by the coordinator": true once
  // for each attempt a withdrawal cancelled.
  bool takeWithdrawn(const JobTag& tag) { return withdrawn_.erase({tag.job_id, tag.attempt}) > 0; }

  // The job lease ran out (agent_lease.h): stops the attempt if it may be re-placed
  // (requeue_on_site_loss) and has not ended. True when it was asked to stop; its end is
  // then reported as `lost` (takeStoppedByLease), so the coordinator places it again.
  bool stopForLease(const DispatchRecord& record, Time now);
  bool stoppedByLease(const JobTag& tag) const {
    return stopped_by_lease_.count({tag.job_id, tag.attempt}) > 0;
  }
  bool takeStoppedByLease(const JobTag& tag) {
    return stopped_by_lease_.erase({tag.job_id, tag.attempt}) > 0;
  }

  struct Stats {
    uint64_t received = 0;
    uint64_t duplicates = 0;
    uint64_t rejected = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  void logError(const std::string& what) {
    if (log_) log_(what);
  }

  // Refuses `record` for a site rule (recorded, so a repeat gets the same answer).
  DispatchAck refuse(DispatchRecord& record, const RuleRefusal& no);

  Backend& backend_;
  DispatchLedger& ledger_;
  ErrorLog log_;
  SiteAdmission* admission_;
  Stats stats_;
  // Attempts a withdrawal cancelled whose end has not been reported yet.
  std::set<std::pair<std::string, int>> withdrawn_;
  // Attempts the job lease stopped whose end has not been reported yet.
  std::set<std::pair<std::string, int>> stopped_by_lease_;
};

// The JOB_STATUS that reports a local job's change.
JobStatus statusOf(const LocalJobUpdate& update);
// The same into `status`, taking the update's strings (every field is set).
void statusInto(LocalJobUpdate&& update, JobStatus& status);

}  // namespace aifed::agent
