// Inside the Broker facade (broker.h): the parts it orchestrates and the handlers that
// tie them together. Private to coordinator/broker; each group of handlers lives in its
// own file:
//
//   broker.cpp            the public entry points, restore, queries
//   job_transitions.cpp   the one place a job's state changes, and the changes built on it
//   agent_messages.cpp    HELLO (reconciliation), CAPACITY, DISPATCH_ACK, JOB_STATUS
//   placement_pass.cpp    placement of queued jobs, late binding, withdrawal
//   planning.cpp          plan(): the decision for a spec, changing nothing
//   broker_time.cpp       liveness and leases, missing jobs, retries, deadlines
//   maintenance.cpp       maintenance windows: declare, cancel, acknowledged by the agent
//   broker_arrays.cpp     job arrays: submission, throttle, array-wide cancel
//   broker_dependencies.cpp  jobs held by their dependencies: examined, released, cancelled
//   broker_invariants.cpp the cross-part checks run after every public call (Debug)
//
// The facade holds no index of its own beyond the two small maps of reconciliation and
// withdrawal below; each kind of state belongs to its part.
#pragma once

#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/broker/allocation_ledger.h"
#include "coordinator/broker/broker.h"
#include "coordinator/broker/command_retries.h"
#include "coordinator/broker/dependency_waits.h"
#include "coordinator/broker/job_arrays.h"
#include "coordinator/broker/job_lifecycle.h"
#include "coordinator/broker/job_table.h"
#include "coordinator/broker/pending_queue.h"
#include "coordinator/broker/placement.h"
#include "coordinator/broker/policy_set.h"
#include "coordinator/broker/quarantine.h"
#include "coordinator/broker/record_keeping.h"
#include "coordinator/broker/reservation_ledger.h"
#include "coordinator/broker/site_table.h"

namespace aifed::broker {

struct Broker::Impl {
  Impl(Federation f, BrokerConfig c, std::unique_ptr<RecordKeeping> r);

  // Ends every public call that changes state: what ended is dropped (when ended jobs
  // are not kept), then the parts are checked against each other (Debug builds).
  class CallGuard {
   public:
    explicit CallGuard(Impl& m) : m_(m) {}
    ~CallGuard() {
      m_.dropEnded();
      m_.checkInvariantsAfterCall();
    }
    CallGuard(const CallGuard&) = delete;
    CallGuard& operator=(const CallGuard&) = delete;

   private:
    Impl& m_;
  };

  // --- Parts ---
  Federation fed;
  BrokerConfig cfg;
  std::unique_ptr<RecordKeeping> records;
  SiteTable sites;
  JobTable jobs;
  PendingQueue queue;
  ReservationLedger reservations;
  AllocationLedger allocations;
  CommandRetries retries;
  PolicySet policies;
  Quarantine quarantine;
  DependencyWaits waits;  // queued jobs held by their dependencies (not in `queue`)
  ArrayTable arrays;
  // Active jobs a HELLO left out, by seq: lost unless their final JOB_STATUS arrives
  // within missingGrace() (reconciliation).
  std::map<int64_t, MonoTime> missing_since;
  // Why a withdrawal was asked, by seq, for the re-queued job's reason (lost on restart:
  // the reason then is shorter).
  std::map<int64_t, std::string> withdraw_why;
  // The next maintenance window's "mw-<seq>" (never below any stored one).
  int64_t next_window_seq = 1;
  // Jobs that ended during the current call: dropped at its end unless ended jobs are kept.
  std::vector<int64_t> ended_now;
  // Buffers kept from call to call.
  PlacementDecision decision;
  std::vector<SiteView> views;
  DecisionBuffers decide_buffers;
  std::vector<size_t> changed_sites, expired_sites;

  // --- job_transitions.cpp ---
  // The only way a job's state changes: applies `event` (job_lifecycle.h) and brings the
  // parts in step (queue, active index, retries, reservations, charges).
  Status transition(JobRecord& j, int64_t seq, JobEvent event, Instant now,
                    JobState reported = JobState::kCompleted);
  // A report repeating the job's state: fields were refreshed, no transition.
  void refreshed(JobRecord& j, int64_t seq, Instant now);
  void dispatch(JobRecord& j, int64_t seq, PlacementDecision& d, const std::string& partition,
                Instant now, Effects& fx);
  // The reason of a user's CANCEL: the job's "cancelled by <user>" (broker.cpp cancel()),
  // or "cancelled by user" when a site report has replaced it.
  static std::string cancelReason(const JobRecord& j);
  // The site no longer holds the current attempt: re-queued if the job allows, else lost.
  void loseJob(JobRecord& j, int64_t seq, const std::string& why, Instant now, Effects& fx);
  // The site cancelled a job we asked back: nobody holds it, it may be placed again.
  void completeWithdrawal(JobRecord& j, int64_t seq, Instant now, Effects& fx);
  void emit(const JobRecord& j, Effects& fx) { records->jobChanged(j, fx); }
  void emitSite(size_t i, Effects& fx) { records->siteChanged(sites.record(i), fx); }
  void send(const std::string& site, Body body, Effects& fx) {
    fx.messages.push_back({site, std::move(body)});
  }
  // Drops the jobs that ended in this call when ended jobs are not kept.
  void dropEnded();
  static bool needsResend(const JobRecord& j);
  size_t siteOf(const JobRecord& j) const { return *sites.find(j.site); }

  // --- agent_messages.cpp ---
  void onMessage(size_t i, Message&& message, Instant now, Effects& fx);
  void onJobUsage(size_t i, const Message& m, const JobUsage& u, Instant now, Effects& fx);
  void onHello(size_t i, const std::string& peer_version, const Hello& h, Instant now,
               Effects& fx);
  void onCapacity(size_t i, const std::string& msg_id, Capacity& c, Instant now, Effects& fx);
  void onDispatchAck(size_t i, const DispatchAck& a, Instant now, Effects& fx);
  void onJobStatus(size_t i, const Message& m, const JobStatus& st, Instant now, Effects& fx);
  // An attempt the coordinator has no record of (and never had, as far as memory goes):
  // held in quarantine, never cancelled unasked.
  bool unknown(const std::string& job_id) const {
    return !jobs.find(job_id) && !jobs.ended(job_id);
  }
  void quarantineReport(size_t i, const std::string& job_id, int attempt,
                        const std::string& local_id, JobState state, Instant now, Effects& fx);
  // Sends the CANCELs of quarantined attempts an admin chose to cancel at site `i` that
  // are due (all of them when `all`).
  void cancelQuarantined(size_t i, Instant now, bool all, Effects& fx);

  // --- placement_pass.cpp ---
  void place(Instant now, Effects& fx);
  void withdraw(Instant now, Effects& fx);
  void fillViews();
  // The views of every site into `out`, with the reservations held (`live_at`: the
  // liveness and reservations the next tick at that moment would see).
  void viewsInto(std::vector<SiteView>& out, std::optional<MonoTime> live_at) const;
  // Late binding: clears the choice of a decision whose best site starts the job too late;
  // whether it did.
  bool holdIfLate(PlacementDecision& d) const;
  // The CANCEL only_if_pending that asks a site to give a job back.
  static Cancel withdrawal(const JobRecord& j);
  void recordDecision(int64_t seq, PlacementDecision& d, Effects& fx);

  // --- broker_arrays.cpp ---
  // Whether queued task `j` must wait for its array's throttle; sets its reason (and
  // reports the job when the reason changed).
  bool throttle(JobRecord& j, Effects& fx);
  // Cancels one job that has not ended (a queued one ends at once, an active one gets a
  // CANCEL); `reason` is the queued job's reason and the CANCEL's.
  void cancelJob(JobRecord& j, int64_t seq, const std::string& reason, Instant now, Effects& fx);

  // --- broker_dependencies.cpp ---
  struct DependencyCheck {
    enum class Kind { kSatisfied, kWaiting, kNever } kind = Kind::kSatisfied;
    std::string reason;                // why it waits, or why it never can start
    std::vector<std::string> waits_on;  // kWaiting: the jobs not ended yet
  };
  // Where job `j`'s dependencies stand now.
  DependencyCheck checkDependencies(const JobRecord& j) const;
  // A queued job with dependencies (new or restored): into the queue when they hold,
  // else held in `waits` with its reason (a never-satisfiable one is due: the next tick
  // cancels it, so the cancellation is reported like any other change).
  void holdOrQueue(JobRecord& j, int64_t seq);
  // Examines the held jobs whose dependencies changed: queues, cancels or keeps holding
  // them. Runs at the start of each placement tick.
  void releaseWaiting(Instant now, Effects& fx);
  static Dispatch dispatchOf(const JobRecord& j);
  // kInvalidArgument (field "dependencies") unless every dependency names a known job.
  Status checkDependenciesExist(const JobSpec& spec) const;
  // After the jobs were restored: the arrays and their tasks, then every queued job into
  // the queue or held by its dependencies.
  void restoreArrays(std::vector<ArrayRecord> stored, int64_t next_array_seq);

  // --- planning.cpp ---
  // Charges to `views` the dispatches the next pass would make before it reached a new
  // job of `priority`.
  void placeAhead(int priority, Instant now, std::vector<SiteView>& views,
                  DecisionBuffers& buffers) const;
  // --- broker_time.cpp ---
  void advanceSites(Instant now, Effects& fx);
  void expireMissing(Instant now, Effects& fx);
  void retry(Instant now, Effects& fx);
  std::optional<MonoTime> nextDeadline() const;
  Duration missingGrace() const { return cfg.retry_interval * 2; }

  // --- broker_invariants.cpp ---
  // The parts agree with each other (Debug builds; nothing in Release).
  void checkInvariants() const;
  // checkInvariants() after a public call: after every call while at most
  // kInvariantJobs jobs are in memory; above that after every k-th call, k = jobs /
  // kInvariantJobs, so the checks cost O(kInvariantJobs) per call on average instead of
  // O(jobs). A full check after every call made a Debug coordinator with a
  // thousand-task array spend 84 % of its time checking (tests timed out); a broken
  // invariant is still caught within k calls, and every call is checked in the unit
  // tests' small brokers.
  void checkInvariantsAfterCall();
  static constexpr size_t kInvariantJobs = 256;
  size_t calls_unchecked = 0;
};

}  // namespace aifed::broker
