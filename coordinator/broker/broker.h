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
#include "protocol/federation.h"
#include "protocol/messages.h"
#include "protocol/status.h"
#include "protocol/types.h"

namespace aifed::broker {

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
};

// The coordinator's record of one job. Persisted whole by the store.
struct JobRecord {
  std::string id;
  JobSpec spec;
  JobState state = JobState::kQueued;
  int attempt = 0;       // 0 until first dispatched; incremented by each re-placement
  std::string site;      // site of the current attempt ("" while queued)
  std::string local_id;  // local scheduler id of the current attempt
  std::string reason;    // why the job is in its state (rejection, loss, failure)
  bool cancel_requested = false;
  // A withdrawal (CANCEL only_if_pending) was asked of `site`: a kCancelled report
  // re-queues the job instead of ending it (docs/placement.md, "Withdrawal").
  bool withdrawing = false;
  std::vector<std::string> excluded_sites;  // refused this job, lost it or withdrew it
  Time submitted_at{};
  Time updated_at{};
  std::optional<Time> dispatched_at;  // of the current attempt
  std::optional<Time> last_sent_at;   // last DISPATCH or CANCEL sent, for retries
  std::optional<Time> started_at;
  std::optional<Time> ended_at;
  std::optional<int> exit_code;

  bool operator==(const JobRecord&) const = default;
};

// The coordinator's record of one site (static attributes come from the federation).
struct SiteRecord {
  std::string id;
  SiteState state = SiteState::kUnknown;
  bool drained = false;  // admin drain: no new jobs, state shown as kDraining
  std::optional<SiteCapacity> capacity;
  bool degraded = false;
  std::string degraded_reason;
  std::optional<Time> last_heard;   // any message
  std::optional<Time> last_report;  // last CAPACITY
  std::optional<Time> unreachable_since;
  std::string agent_version;
  int64_t jobs_placed = 0;  // dispatches accepted by this site, ever

  bool operator==(const SiteRecord&) const = default;
};

// One site's verdict in one placement decision.
struct SiteVerdict {
  std::string site;
  bool feasible = false;
  std::string rejected_by;       // filter name when infeasible ("site-state", "fits", ...)
  std::string reason;            // human reason when infeasible
  std::string partition;         // the partition that would run it
  double estimated_start_s = 0;  // seconds from decision time
  int free_nodes = 0;            // after reservations
  double score = 0;              // the policy's total, 0..100; higher is better
  // Breakdown of estimated_start_s (feasible sites only).
  double queue_wait_s = 0;  // the site's backlog ahead of this job
  double staging_s = 0;     // moving the job's input data sets there
  // One term per score plugin of the policy (feasible sites only), in policy order:
  // score = sum(weight * term score) / sum(weight).
  struct ScoreTerm {
    std::string plugin;  // "estimated-start", "carbon", ...
    double raw = 0;      // the plugin's input, in scoreUnit(plugin)
    double score = 0;    // normalised, 0..100
    double weight = 0;
    bool operator==(const ScoreTerm&) const = default;
  };
  std::vector<ScoreTerm> scores;
  bool operator==(const SiteVerdict&) const = default;
};

// The unit a score plugin's raw input is expressed in ("s", "EUR/MWh", ...).
std::string_view scoreUnit(std::string_view plugin);

// Why a job went where it went, or why it still waits. Stored for every decision.
struct PlacementDecision {
  std::string job_id;
  int attempt = 0;  // the attempt this decision created (0 when none: still waiting)
  Time decided_at{};
  std::string policy;
  int policy_version = 0;
  std::string chosen_site;            // empty: waiting
  std::string summary;                // one line: "placed on mimer: starts now, 12 nodes free"
  std::vector<SiteVerdict> verdicts;  // one per site of the federation, in site order
  bool operator==(const PlacementDecision&) const = default;
};

// Names of the placement policies this build offers (BrokerConfig::policy): the built-in
// ones; a policy file may add more (Broker::policies()).
std::vector<std::string> knownPolicies();

// A run-time change of the active policy (Broker::setPolicy), stored for the audit trail.
struct PolicyChange {
  Time at{};
  std::string from;
  std::string to;
  int to_version = 0;
  std::string actor;   // who asked ("" when unknown)
  std::string reason;  // free text from the request
  bool operator==(const PolicyChange&) const = default;
};

struct OutboundMessage {
  std::string site;
  Body body;
};

// One row of the audit log (docs/security.md): a state-changing REST request, allowed or
// refused. The broker never makes these; the REST layer adds them to the Effects of the
// request so they become durable in the same transaction as what they describe.
struct AuditRecord {
  int64_t id = 0;  // assigned by the store
  Time at{};
  std::string actor;       // token id ("" when no token was recognised)
  std::string actor_name;  // the token's name
  std::string role;
  std::string action;  // "job.submit", "site.drain", "session.login", ...
  std::string target;  // job, site, token or policy id
  std::string remote_address;
  std::string outcome;  // "ok", "denied" or "error"
  std::string detail;
  bool operator==(const AuditRecord&) const = default;
};

// Everything a broker call changed. The caller persists jobs, sites and decisions in
// one transaction, then sends `messages` in order.
struct Effects {
  std::vector<JobRecord> jobs;    // latest version of every job that changed
  std::vector<SiteRecord> sites;  // latest version of every site that changed
  std::vector<PlacementDecision> decisions;
  std::vector<OutboundMessage> messages;
  std::vector<PolicyChange> policy_changes;
  std::vector<AuditRecord> audit;  // added by the REST layer, never by the broker

  bool empty() const {
    return jobs.empty() && sites.empty() && decisions.empty() && messages.empty() &&
           policy_changes.empty() && audit.empty();
  }
  void clear();
};

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
  // Cancels a job: a queued job ends at once; a dispatched/pending/running one gets a
  // CANCEL (retried until the site reports a terminal state). kNotFound, or
  // kFailedPrecondition if already terminal.
  Result<JobRecord> cancel(const std::string& job_id, Time now, Effects& fx);
  // Admin: stop / allow new placements on a site.
  Status setDrained(const std::string& site, bool drained, Time now, Effects& fx);

  // --- Agent messages, already authenticated: `site` is the key's site ---
  // Returns the replies in fx.messages (WELCOME, ACK, ERROR, CANCEL for stale attempts).
  void onMessage(const std::string& site, const Message& message, Time now, Effects& fx);
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
