// The coordinator's durable state in one SQLite file (WAL mode): jobs, sites and every
// placement decision. The schema is versioned and migrated forward at open.
//
// The broker produces Effects; the daemon calls apply() once per batch of effects, in
// one transaction, *before* sending the effects' messages. That is the coordinator's
// half of exactly-once delivery: nothing is sent that a restart would forget.
//
//   auto store = CoordinatorStore::open("/var/lib/aifed/coordinator.db");
//   if (!store.ok()) die(store.status().toString());
//   broker.restore((*store)->loadJobs().value(), (*store)->loadSites().value(),
//                  (*store)->nextJobSeq().value());
//   ... broker.tick(now, fx); Status s = (*store)->apply(fx, audit_rows);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "coordinator/broker/records.h"
#include "coordinator/identity/audit_record.h"
#include "coordinator/identity/tokens.h"
#include "protocol/status.h"

namespace aifed::store {

// Filters of CoordinatorStore::audit(); empty strings and 0 mean "any".
struct AuditQuery {
  size_t limit = 100;
  int64_t before = 0;  // only rows with a smaller id (the next page of a newest-first list)
  std::string actor;   // token id
  std::string action;  // exact ("site.drain") or a prefix ending in '.' ("job.")
};

// Which federation a database belongs to: made when the federation's database was
// initialised (aifed-coordinator --init), checked at every start.
struct FederationIdentity {
  std::string id;    // 32 random hex digits
  std::string name;  // the federation file's [federation] name
  Time created_at{};
};

// One site's figures at one history sample (schema 10; docs/api.md, "History"). `state`
// is what the console shows: up, suspect, unreachable, unknown, draining or maintenance.
// A stale sample (the site unreachable or unknown and its last report old) carries the
// figures of that last report.
struct HistorySample {
  Time t{};
  std::string site;
  std::string state;
  int64_t accelerators_total = 0;
  int64_t accelerators_used = 0;
  int64_t accelerators_free = 0;
  int64_t nodes_total = 0;
  int64_t nodes_idle = 0;
  int64_t pending_jobs = 0;
  double pending_node_hours = 0;
  int64_t running_jobs = 0;
  bool stale = false;
  bool operator==(const HistorySample&) const = default;
};

// The federation at one sample instant: the sum over the sites sampled then. Stale
// sites count in `sites_stale` but not in the figures (they are not current).
struct FederationSample {
  Time t{};
  int64_t sites = 0;
  int64_t sites_up = 0;
  int64_t sites_stale = 0;
  int64_t accelerators_total = 0;
  int64_t accelerators_used = 0;
  int64_t accelerators_free = 0;
  int64_t nodes_total = 0;
  int64_t nodes_idle = 0;
  int64_t pending_jobs = 0;
  double pending_node_hours = 0;
  int64_t running_jobs = 0;
};

// A site's state transition (schema 10): up, suspect, unreachable, draining, maintenance
// and back, with why and who ("coordinator" for liveness, the admin for a drain).
struct SiteEvent {
  int64_t id = 0;  // assigned by the store; orders events of the same instant
  Time t{};
  std::string site;
  std::string from;
  std::string to;
  std::string reason;
  std::string actor;
  bool operator==(const SiteEvent& o) const {
    return t == o.t && site == o.site && from == o.from && to == o.to && reason == o.reason &&
           actor == o.actor;
  }
};

class CoordinatorStore {
 public:
  virtual ~CoordinatorStore() = default;

  // Opens the database, enables WAL, runs pending migrations. kInvalidArgument if the
  // file is not an aifed coordinator database or its schema is newer than this build
  // knows. A missing or empty file is created only with `create` (aifed-coordinator
  // --init); otherwise it is kFailedPrecondition: an empty or missing database is a
  // failed restore or a wrong path far more often than a new federation, and a coordinator
  // that took it for one would cancel every job the sites run.
  static Result<std::unique_ptr<CoordinatorStore>> open(const std::string& path,
                                                         bool create = false);

  // Persists every job, site and decision of `fx` and the `audit` rows that describe them
  // in one transaction (upserts for jobs and sites, inserts for decisions and audit
  // rows): a change is never durable without its audit row, nor a row without its
  // change. Messages are not stored. Idempotent for the same effects except audit rows,
  // which are appended each time. kUnavailable if the database stays busy.
  virtual Status apply(const broker::Effects& fx,
                       const std::vector<identity::AuditRecord>& audit) = 0;

  virtual Result<std::vector<broker::JobRecord>> loadJobs() = 0;
  virtual Result<std::vector<broker::SiteRecord>> loadSites() = 0;
  // 1 + the highest job sequence number ever stored (job ids are "j-<seq>").
  virtual Result<int64_t> nextJobSeq() = 0;
  // The next maintenance window sequence number ("mw-<seq>"; schema 8): 1 before any.
  virtual Result<int64_t> nextWindowSeq() = 0;
  // Job arrays (schema 11), oldest first; their tasks are jobs naming them.
  virtual Result<std::vector<broker::ArrayRecord>> loadArrays() = 0;
  // The next array sequence number ("a-<seq>"): 1 before any, never lowered.
  virtual Result<int64_t> nextArraySeq() = 0;
  // Every decision stored for a job, oldest first.
  virtual Result<std::vector<broker::PlacementDecision>> decisions(const std::string& job_id) = 0;
  // Every recorded policy switch, oldest first. The last one's `to` is the policy to
  // restore at start (Broker::setPolicy) when it differs from the configured one.
  virtual Result<std::vector<broker::PolicyChange>> policyChanges() = 0;
  virtual Result<int> schemaVersion() = 0;

  // --- Identity (schema 4) ---
  // Inserts or replaces a token by id (create, revoke, last use), in its own transaction.
  virtual Status saveToken(const identity::TokenRecord& token) = 0;
  // Every token, revoked ones included, oldest first.
  virtual Result<std::vector<identity::TokenRecord>> loadTokens() = 0;
  // Audit rows matching `query`, newest first.
  virtual Result<std::vector<identity::AuditRecord>> audit(const AuditQuery& query) = 0;

  // --- Never lost, never twice (schema 5) ---
  // Every quarantined attempt (coordinator/broker/quarantine.h), in key order.
  virtual Result<std::vector<broker::QuarantinedJob>> loadQuarantined() = 0;
  // The federation this database belongs to; nullopt before initialise().
  virtual Result<std::optional<FederationIdentity>> federationIdentity() = 0;
  // Makes this database the federation `name`'s. kFailedPrecondition if it belongs to
  // one already.
  virtual Result<FederationIdentity> initialise(const std::string& name, Time now) = 0;
  // A small write of its own transaction (the time of the probe), to learn whether the
  // database accepts writes again after one failed.
  virtual Status probeWrite(Time now) = 0;
  // Whether any job, site, token or decision is stored (a database from before schema 5
  // that holds a federation's records but no identity yet).
  virtual Result<bool> holdsRecords() = 0;

  // --- Console history (schema 10) ---
  // Appends samples and site events and deletes both where older than `prune_before`,
  // in one transaction of its own. Samples are keyed by (site, t): writing one again
  // replaces it.
  virtual Status saveHistory(const std::vector<HistorySample>& samples,
                             const std::vector<SiteEvent>& events, Time prune_before) = 0;
  // A site's samples with since <= t <= until, oldest first.
  virtual Result<std::vector<HistorySample>> siteHistory(const std::string& site, Time since,
                                                         Time until) = 0;
  // The federation's totals per sample instant with since <= t <= until, oldest first,
  // summed from the sites' samples when asked.
  virtual Result<std::vector<FederationSample>> federationHistory(Time since, Time until) = 0;
  // A site's events, newest first, at most `limit`.
  virtual Result<std::vector<SiteEvent>> siteEvents(const std::string& site, size_t limit) = 0;
};

}  // namespace aifed::store
