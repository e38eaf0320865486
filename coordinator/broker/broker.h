// The coordinator's brain, as a pure library: the federation view (site liveness and
// capacity), the job life cycle, placement, reservations and delivery retries.
//
// No sockets, no SQLite, no clock: every entry point takes `now` (an Instant: the wall
// clock for records, the monotonic clock for intervals), and every outcome is returned
// as Effects that the caller makes durable (store) *before* it sends the effects'
// messages. The coordinator daemon and the simulator run this same code; what each keeps
// and reports is the RecordKeeping it injects (record_keeping.h).
//
//   Broker broker(federation, config);
//   Effects fx;
//   Result<JobRecord> job = broker.submit(spec, now, fx);
//   broker.tick(now, fx);            // liveness, leases, retries, placement
//   store.apply(fx, audit);          // persist first, with its audit rows...
//   for (auto& out : fx.messages) transport.send(out.site, out.body);   // ...then send
//
// Inside, the broker is a facade over parts that each own one kind of state (the site
// table, the job table, the pending queue, the reservation and allocation ledgers, the
// command retries, the policy set) and one job life cycle (job_lifecycle.h). Debug
// builds check that the parts agree after every public call.
//
// Threading: not thread-safe; one owner thread calls everything.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/broker/job_arrays.h"
#include "coordinator/broker/planning.h"
#include "coordinator/broker/policy.h"
#include "coordinator/broker/quarantine.h"
#include "coordinator/broker/record_keeping.h"
#include "coordinator/broker/records.h"
#include "protocol/clock.h"
#include "protocol/federation.h"
#include "protocol/messages.h"
#include "protocol/status.h"
#include "protocol/types.h"

namespace aifed::broker {

struct BrokerConfig {
  Duration heartbeat_interval = std::chrono::seconds(5);
  int suspect_after_missed = 3;                       // heartbeats missed before `suspect`
  int unreachable_after_missed = 6;                   // heartbeats missed before `unreachable`
  // The job lease (docs/operations.md, "Delivery guarantees"): a site unreachable this
  // long has its re-placeable jobs re-queued (its agent stopped them after the same
  // lease); jobs that may not be re-placed wait for the site. Time the coordinator heard
  // from no site at all does not count. Agents learn it from WELCOME.
  Duration lost_lease = std::chrono::hours(1);
  // A maintenance window pauses its site's lease (both sides) until its end plus this.
  Duration maintenance_grace = std::chrono::minutes(30);
  Duration retry_interval = std::chrono::seconds(3);  // resend unacknowledged DISPATCH/CANCEL
  Duration reservation_timeout = std::chrono::minutes(2);
  int max_attempts = 5;  // attempts before a job that keeps being refused fails
  std::string policy = std::string(kDefaultPolicy);  // one of policies (or the built-ins)
  // Policies on offer: empty means builtinPolicies(). Load a file with loadPolicyFile()
  // and mergePolicies(builtinPolicies(), file). The constructor throws
  // std::invalid_argument if `policy` is not among them or one is invalid (startup only).
  std::vector<PolicySpec> policies;
  // Federation-wide fair share for late binding: a project's decayed usage divided by its
  // share orders jobs of equal priority (lower first). Projects not listed have share 1.
  std::map<std::string, double> project_shares;
  Duration fair_share_half_life = std::chrono::hours(24 * 7);
  // Where a Release build reports a bug it survived (an illegal life-cycle transition,
  // refused as a no-op); Debug builds stop at an assertion instead. Null: not reported.
  std::function<void(std::string_view)> report_bug;
};

// Names of the placement policies this build offers (BrokerConfig::policy): the built-in
// ones; a policy file may add more (Broker::policies()).
std::vector<std::string> knownPolicies();

class Broker {
 public:
  // `records` decides what is reported in Effects and kept in memory (keepEverything()
  // for the daemon, keepOutcomesOnly() for the simulator).
  Broker(Federation federation, BrokerConfig config,
         std::unique_ptr<RecordKeeping> records = keepEverything());
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // What the store loaded at a restart.
  struct Restored {
    std::vector<JobRecord> jobs;
    std::vector<SiteRecord> sites;
    std::vector<QuarantinedJob> quarantined;
    int64_t next_job_seq = 1;  // ids below this were handed out once: never again
    int64_t next_window_seq = 1;  // the same for maintenance windows ("mw-<seq>")
    std::vector<ArrayRecord> arrays{};
    int64_t next_array_seq = 1;  // the same for arrays ("a-<seq>")
  };
  // Rebuilds state after a restart from what the store loaded. Jobs in kDispatched are
  // re-sent on the next tick; sites start kUnknown until their agent says HELLO again
  // (their records keep jobs_placed and drained). Call once, before anything else.
  void restore(Restored stored, Instant now);

  // --- Job intake (REST) ---
  // Validates against the federation (unknown accelerator model, larger than every
  // site, unknown allowed site/country) and queues the job. Placement happens in tick().
  // A dependency must name a job the broker knows (kInvalidArgument, field
  // "dependencies"); the job is held until its dependencies hold, and cancelled on the
  // next tick once one never can (docs/placement.md, "Dependencies").
  Result<JobRecord> submit(const JobSpec& spec, Instant now, Effects& fx);
  // The same without the copy of the record: the new job's id, or why it was refused.
  Result<std::string> enqueue(const JobSpec& spec, Instant now, Effects& fx);
  // --- Job arrays (docs/placement.md, "Arrays") ---
  struct ArraySubmission {
    ArrayRecord array;
    std::vector<std::string> jobs;  // the tasks' ids, in index order
  };
  // Validates like enqueue() and `array` (parseArrayIndices, max_running >= 0), then
  // queues one job per index: env AIFED_ARRAY_ID, AIFED_ARRAY_TASK_ID and
  // SLURM_ARRAY_TASK_ID added, array_id/array_index set. The array gets the next
  // "a-<n>" (fx.next_array_seq carries the counter to the store); nothing is created on
  // a refusal.
  Result<ArraySubmission> submitArray(const JobSpec& spec, const ArraySpec& array, Instant now,
                                      Effects& fx);
  // Cancels every task of the array that has not ended (as cancel() does, with `reason`).
  // kNotFound for an unknown array.
  Result<ArrayRecord> cancelArray(const std::string& id, const std::string& reason, Instant now,
                                  Effects& fx);
  const ArrayRecord* findArray(const std::string& id) const;
  std::vector<const ArrayRecord*> listArrays() const;  // oldest first
  // The array's tasks in memory, in index order (empty for an unknown array).
  std::vector<const JobRecord*> arrayTasks(const std::string& id) const;
  // The lowest array sequence number the broker may still hand out, and a floor for it.
  int64_t nextArraySeq() const;
  void reserveArraySeq(int64_t next);

  // What submit() would do with `spec` now (planning.h): its refusal, or the decision the
  // next placement pass would take. Creates, reserves and records nothing.
  Result<JobPlan> plan(const JobSpec& spec, Instant now) const;
  // Cancels a job: a queued job ends at once; a dispatched/pending/running one gets a
  // CANCEL (retried until the site reports a terminal state). The job's reason becomes
  // "cancelled by <actor>" ("cancelled by user" when no actor is named). kNotFound, or
  // kFailedPrecondition if already terminal.
  Result<JobRecord> cancel(const std::string& job_id, Instant now, Effects& fx,
                           const std::string& actor = {});
  // Admin: stop / allow new placements on a site. Draining keeps `reason`, `actor` and
  // the time on the site's record; resuming clears them.
  Status setDrained(const std::string& site, bool drained, Instant now, Effects& fx,
                    const std::string& reason = {}, const std::string& actor = {});

  // --- Maintenance windows (docs/operations.md, "Maintenance windows") ---
  // Declares a window [start, end) at `site`: kInvalidArgument naming the field when end
  // is not after start, not in the future, longer than kMaxMaintenanceWindow, the reason
  // is empty, or the site holds kMaxMaintenanceWindows already; kNotFound for an unknown
  // site. The new window gets the next "mw-<n>" (never reused: fx.next_window_seq
  // carries the counter to the store).
  Result<MaintenanceWindow> declareMaintenance(const std::string& site, Time start, Time end,
                                               const std::string& reason,
                                               const std::string& actor, Instant now,
                                               Effects& fx);
  // Cancels one: kNotFound for an unknown site or window. The window no longer keeps
  // jobs away; it keeps pausing the lease until the agent acknowledges the new list
  // (maintenanceAcknowledged).
  Result<MaintenanceWindow> cancelMaintenance(const std::string& site, const std::string& window,
                                              Instant now, Effects& fx);
  // The site's agent acknowledged a MAINTENANCE listing the windows `held`.
  void maintenanceAcknowledged(const std::string& site, const std::vector<std::string>& held,
                               Effects& fx);
  // The MAINTENANCE the site's agent should hold now.
  Maintenance maintenanceFor(const std::string& site) const;

  // --- Agent messages, already authenticated ---
  // The index of a federation site (the first argument of onMessage), or nullopt.
  std::optional<size_t> siteIndex(std::string_view site) const;
  // One message from the site with index `site` (its key's site). Replies (WELCOME, ACK,
  // ERROR, CANCEL for stale attempts) go into fx.messages. The message may be taken
  // from (a CAPACITY report is swapped with the previous one rather than copied). An
  // index out of range is ignored.
  void onMessage(size_t site, Message&& message, Instant now, Effects& fx);
  // A message arrived from a site that never said HELLO in this coordinator's life:
  // whether the daemon should answer ERROR "hello_required".
  bool hasSession(const std::string& site) const;

  // --- Time ---
  // Liveness transitions, lease expiry (jobs -> lost -> re-queued if allowed),
  // reservation timeouts, delivery retries, then placement of queued jobs.
  void tick(Instant now, Effects& fx);
  // When tick() next has something to do, on the monotonic clock (earliest liveness
  // deadline, retry or reservation expiry); the daemon also ticks after every message
  // and submission.
  std::optional<MonoTime> nextDeadline() const;

  // --- The federation file re-read at run time (federation_update.cpp) ---
  // Takes `next` as the federation: sites added (they start `unknown` until their agent
  // says HELLO; placement considers them once they report), removed, or changed
  // (partitions, country, prices: the next placement uses them). Sessions, jobs and
  // reservations of the sites kept are untouched. Refused, changing nothing:
  // kInvalidArgument when the name differs, kFailedPrecondition naming up to
  // kJobsNamed jobs when a removed site still holds active ones, or when a queued job
  // allows only sites `next` removes (it would wait forever). A removed site's jobs
  // stay readable; re-added, it is the same site with the record it left with. The
  // records of added sites go into fx.sites.
  Status updateFederation(Federation next, Instant now, Effects& fx);
  // The ids of up to `limit` active jobs (dispatched, pending, running) at `site`.
  std::vector<std::string> activeJobsAt(const std::string& site, size_t limit) const;
  static constexpr size_t kJobsNamed = 5;

  // --- Queries (REST) ---
  const JobRecord* findJob(const std::string& id) const;
  // Jobs in submission order, optionally filtered by state and/or site.
  std::vector<const JobRecord*> listJobs(std::optional<JobState> state, const std::string& site,
                                         size_t offset, size_t limit) const;
  size_t countJobs(std::optional<JobState> state) const;
  const std::vector<SiteRecord>& sites() const;  // in federation order
  const SiteRecord* findSite(const std::string& id) const;
  const Federation& federation() const;
  const BrokerConfig& config() const;
  // Nodes reserved at a site (dispatched, not yet confirmed by a newer CAPACITY).
  int reservedNodes(const std::string& site) const;
  // The latest decision made for a job in this process's lifetime (the store has all).
  const PlacementDecision* lastDecision(const std::string& job_id) const;

  // --- Quarantine (quarantine.h) ---
  // Attempts agents reported that the coordinator has no record of, in (site, job,
  // attempt) order.
  std::vector<QuarantinedJob> quarantined() const;
  // An admin's decision on one: kCancel sends the site a CANCEL (re-sent until the site
  // reports the attempt ended or no longer holds it), kRelease leaves it alone. kNotFound,
  // or kFailedPrecondition when it was decided already.
  Result<QuarantinedJob> decideQuarantined(const std::string& site, const std::string& job_id,
                                           int attempt, QuarantineAction action,
                                           const std::string& actor, Instant now, Effects& fx);
  // The lowest job sequence number the broker may still hand out.
  int64_t nextJobSeq() const;
  // Never hands out a sequence number below `next` (ids used before a rebuild).
  void reserveJobSeq(int64_t next);

  // --- Policy ---
  // Switches the active policy for every later decision (queued jobs are re-examined on
  // the next tick). Records a PolicyChange in fx. kNotFound for an unknown policy;
  // switching to the active policy is a no-op that records nothing.
  Status setPolicy(const std::string& name, const std::string& actor, const std::string& reason,
                   Time now, Effects& fx);
  const PolicySpec& policy() const;                 // the active one
  const std::vector<PolicySpec>& policies() const;  // every policy on offer
  // Changes made in this process's lifetime, oldest first (the store has all).
  const std::vector<PolicyChange>& policyHistory() const;
  // GPU-hours (node-hours for CPU jobs) charged to a project at a site: walltime for jobs
  // still held there, actual runtime for ended ones. What the allocation filter compares
  // with the federation file's allocations.
  double allocationUsed(const std::string& project, const std::string& site) const;
  // The project's decayed usage at `now` (fair share, late binding).
  double fairShareUsage(const std::string& project, Time now) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aifed::broker
