// The coordinator's brain, as a pure library: the federation view (site liveness and
// capacity), the job state machine, placement, reservations and delivery retries.
//
// No sockets, no SQLite, no clock: every entry point takes `now`, and every outcome is
// returned as Effects that the caller makes durable (store) *before* it sends the
// effects' messages. The coordinator daemon and the simulator run this same code.
//
//   Broker broker(federation, config);
//   Effects fx;
//   Result<JobRecord> job = broker.submit(spec, now, fx);
//   broker.tick(now, fx);            // liveness, leases, retries, placement
//   store.apply(fx);                 // persist first...
//   for (auto& out : fx.messages) transport.send(out.site, out.body);   // ...then send
//
// Threading: not thread-safe; one owner thread calls everything.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/broker/policy.h"
#include "coordinator/broker/records.h"
#include "protocol/federation.h"
#include "protocol/messages.h"
#include "protocol/status.h"
#include "protocol/types.h"

namespace aifed::broker {

// What a broker call reports in its Effects (BrokerConfig::effects).
enum class EffectsDetail {
  // Every changed job and site record and every decision: what the daemon's store
  // persists. The default.
  kFull,
  // Messages, policy changes and the final record of each job that ended (so the caller
  // learns which jobs are done); no site records, no decisions (none are kept for
  // lastDecision() either). For the offline simulator, which needs no audit trail.
  kEndedJobsOnly,
};

struct BrokerConfig {
  Duration heartbeat_interval = std::chrono::seconds(5);
  int suspect_after_missed = 3;                       // heartbeats missed before `suspect`
  int unreachable_after_missed = 6;                   // heartbeats missed before `unreachable`
  Duration lost_lease = std::chrono::minutes(10);     // unreachable this long: jobs `lost`
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

  // --- For the offline simulator (aifed-sim); the daemon keeps these defaults ---
  EffectsDetail effects = EffectsDetail::kFull;
  // Drop a job from memory at the end of the call that ended it (its final record is in
  // that call's Effects). findJob(), listJobs(), countJobs() and lastDecision() no longer
  // see it; its allocation charge and fair-share usage stay. A later message about it is
  // handled as one about an ended job (ignored, or CANCEL for another attempt or site);
  // cancel() answers kFailedPrecondition. Memory then grows with the active jobs only.
  bool forget_ended_jobs = false;
};

// Names of the placement policies this build offers (BrokerConfig::policy): the built-in
// ones; a policy file may add more (Broker::policies()).
std::vector<std::string> knownPolicies();

class Broker {
 public:
  Broker(Federation federation, BrokerConfig config);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Rebuilds state after a restart from what the store loaded. Jobs in kDispatched are
  // re-sent on the next tick; sites start kUnknown until their agent says HELLO again
  // (their records keep jobs_placed and drained). Call once, before anything else.
  void restore(std::vector<JobRecord> jobs, std::vector<SiteRecord> sites, int64_t next_job_seq);

  // --- Job intake (REST) ---
  // Validates against the federation (unknown accelerator model, larger than every
  // site, unknown allowed site/country) and queues the job. Placement happens in tick().
  Result<JobRecord> submit(const JobSpec& spec, Time now, Effects& fx);
  // The same without the copy of the record: the new job's id, or why it was refused.
  Result<std::string> enqueue(const JobSpec& spec, Time now, Effects& fx);
  // Cancels a job: a queued job ends at once; a dispatched/pending/running one gets a
  // CANCEL (retried until the site reports a terminal state). kNotFound, or
  // kFailedPrecondition if already terminal.
  Result<JobRecord> cancel(const std::string& job_id, Time now, Effects& fx);
  // Admin: stop / allow new placements on a site.
  Status setDrained(const std::string& site, bool drained, Time now, Effects& fx);

  // --- Agent messages, already authenticated: `site` is the key's site ---
  // Returns the replies in fx.messages (WELCOME, ACK, ERROR, CANCEL for stale attempts).
  void onMessage(const std::string& site, const Message& message, Time now, Effects& fx);
  // The same, but a CAPACITY report may be taken rather than copied: the message is left
  // valid with unspecified contents (the simulator refills one envelope per report).
  void onMessage(const std::string& site, Message&& message, Time now, Effects& fx);
  // The same with the site given by its index in the federation's sites (the simulator:
  // no lookup of the site's id per message). An index out of range is ignored.
  void onMessage(size_t site, Message&& message, Time now, Effects& fx);
  // A message arrived from a site that never said HELLO in this coordinator's life:
  // whether the daemon should answer ERROR "hello_required".
  bool hasSession(const std::string& site) const;

  // --- Time ---
  // Liveness transitions, lease expiry (jobs -> lost -> re-queued if allowed),
  // reservation timeouts, delivery retries, then placement of queued jobs.
  void tick(Time now, Effects& fx);
  // When tick() next has something to do (earliest liveness deadline or retry); the
  // daemon also ticks after every message and submission.
  std::optional<Time> nextDeadline() const;

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
