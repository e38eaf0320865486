// The broker's records: what it knows of each job and site, each placement decision with
// its reasons, and the Effects of a call (changed records, decisions and the messages to
// send once they are durable). Plain values with no behaviour, shared by the broker, the
// placement framework, the store and the REST layer.
//
//   Effects fx;
//   broker.tick(now, fx);
//   store.apply(fx, audit);                           // persist first...
//   for (OutboundMessage& m : fx.messages) send(m);   // ...then send
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/messages.h"
#include "protocol/site_rules.h"
#include "protocol/types.h"

namespace aifed::broker {

// What the site said about the current attempt when it accepted it (protocol 1.2): who
// runs it there and where its output goes. Empty when the site said nothing.
// What the site's accounting says an ended attempt used (JOB_USAGE, protocol 1.2).
struct SiteUsage {
  std::string source;  // "sacct" | "scheduler"
  Duration elapsed{0};
  int nodes = 0;
  int gpus = 0;
  std::string tres;
  std::string state;
  bool operator==(const SiteUsage&) const = default;
};

// GPU-hours (node-hours for a CPU job) the site says an attempt used.
double usageGpuHours(const SiteUsage& u);

struct AttemptAtSite {
  std::string local_user;
  std::string account;
  std::string stdout_path;
  std::string stderr_path;
  // Once the site reported it; then the allocation is charged from it, not from the
  // coordinator's own start and end times.
  std::optional<SiteUsage> usage;
  bool operator==(const AttemptAtSite&) const = default;
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
  // The sequence number of the current attempt's latest JOB_STATUS taken (protocol 1.1;
  // 0: none yet): an older one is acknowledged and ignored.
  uint64_t status_seq = 0;
  AttemptAtSite at_site;  // of the current attempt, kept after it ended
  // A task of a job array (docs/placement.md, "Arrays"): the array's id ("a-<n>") and the
  // task's index in it; "" and 0 for an ordinary job.
  std::string array_id{};
  int64_t array_index = 0;

  bool operator==(const JobRecord&) const = default;
};

// One job array: a submission that became `tasks` ordinary jobs sharing one spec, each
// with its own index. Persisted whole by the store; the tasks are jobs naming it.
struct ArrayRecord {
  std::string id;  // "a-<n>", never reused
  std::string name;
  std::string project;
  std::string user;
  Time submitted_at{};
  std::string indices;  // as submitted, e.g. "0-999:2,1001"
  int max_running = 0;  // tasks dispatched, pending or running at once; 0: no limit
  int tasks = 0;
  bool operator==(const ArrayRecord&) const = default;
};

// The coordinator's record of one site (static attributes come from the federation).
struct SiteRecord {
  std::string id;
  SiteState state = SiteState::kUnknown;
  bool drained = false;  // admin drain: no new jobs, state shown as kDraining
  std::string drain_reason;        // what the admin said when draining ("" when not drained)
  std::string drained_by;          // who drained it (the token's name)
  std::optional<Time> drained_at;  // when
  std::optional<SiteCapacity> capacity;
  bool degraded = false;
  std::string degraded_reason;
  std::optional<Time> last_heard;   // any message
  std::optional<Time> last_report;  // last CAPACITY
  std::optional<Time> unreachable_since;
  std::string agent_version;
  int64_t jobs_placed = 0;  // dispatches accepted by this site, ever
  // The rules the site's agent published in its last HELLO (protocol 1.2); none: it
  // published none (an older agent, or a site that admits any job). Not stored: every
  // session starts with a HELLO.
  std::optional<SiteRules> rules;
  // Declared maintenance windows, oldest first (protocol/maintenance.h): inside [start,
  // end) no new job goes here; inside [start, end + grace) the site's job lease is paused.
  // A window leaves the list once its end plus grace has passed.
  std::vector<MaintenanceWindow> maintenance;
  // Windows cancelled while the agent may still hold them (it has not acknowledged a
  // MAINTENANCE without them): they keep pausing the coordinator's lease, as they pause
  // the agent's, so the coordinator never re-places a job its agent still runs.
  std::vector<MaintenanceWindow> maintenance_retired;
  // The id of the window in force at the last tick ("" when none). Derived from the
  // windows and the time, not stored.
  std::string maintenance_active;
  // The agent's own health from the last HEARTBEAT or CAPACITY that carried it, and when
  // that arrived; none until one did (an older agent sends none). Not stored; a new
  // session (HELLO) clears it.
  std::optional<AgentHealth> agent_health;
  std::optional<Time> agent_health_at;

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

// Why a job went where it went, or why it still waits. Stored for every decision.
struct PlacementDecision {
  std::string job_id;
  int attempt = 0;  // the attempt this decision created (0 when none: still waiting)
  Time decided_at{};
  std::string policy;
  int policy_version = 0;
  std::string chosen_site;            // empty: waiting
  std::string summary;                // one line: "placed on mimer: starts now, 12 nodes free"
  // The rule that chose between feasible sites of equal score: "more free nodes",
  // "federation order" (also first-fit's choice among several feasible sites), or ""
  // when no other feasible site had the chosen one's score (or none was chosen).
  std::string tie_break;
  std::vector<SiteVerdict> verdicts;  // one per site of the federation, in site order
  bool operator==(const PlacementDecision&) const = default;
};

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

// An attempt an agent reported that the coordinator has no record of, held for an admin
// to decide (quarantine.h). Persisted whole by the store.
struct QuarantinedJob {
  std::string site;
  std::string job_id;
  int attempt = 0;
  std::string local_id;
  JobState state = JobState::kPending;  // as the site last reported it
  Time first_seen{};
  Time last_seen{};
  std::string decision;  // "" while undecided, "cancel" or "release"
  std::string decided_by;
  std::optional<Time> decided_at;
  bool operator==(const QuarantinedJob&) const = default;
};

struct OutboundMessage {
  std::string site;
  Body body;
};

// Everything a broker call changed. The caller persists jobs, sites and decisions in
// one transaction, then sends `messages` in order.
struct Effects {
  std::vector<JobRecord> jobs;    // latest version of every job that changed
  std::vector<SiteRecord> sites;  // latest version of every site that changed
  std::vector<PlacementDecision> decisions;
  std::vector<OutboundMessage> messages;
  std::vector<PolicyChange> policy_changes;
  std::vector<QuarantinedJob> quarantined;  // latest version of every entry that changed
  // The next maintenance window id ("mw-<seq>") after a declaration: stored, never reused.
  std::optional<int64_t> next_window_seq;
  std::vector<ArrayRecord> arrays{};  // arrays created by the call
  // The next array id ("a-<seq>") after an array submission: stored, never reused.
  std::optional<int64_t> next_array_seq{};

  bool empty() const {
    return jobs.empty() && sites.empty() && decisions.empty() && messages.empty() &&
           policy_changes.empty() && quarantined.empty() && !next_window_seq && arrays.empty() &&
           !next_array_seq;
  }
  void clear() {
    jobs.clear();
    sites.clear();
    decisions.clear();
    messages.clear();
    policy_changes.clear();
    quarantined.clear();
    next_window_seq.reset();
    arrays.clear();
    next_array_seq.reset();
  }
};

}  // namespace aifed::broker
