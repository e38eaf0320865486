// What the REST layer needs from the daemon: the broker, the clocks, durable commits
// (group commit for job intake), the store's identity and audit rows. The daemon
// implements it; the tests implement it in memory (tests/coordinator/rest_fixture.h).
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <vector>

#include "coordinator/broker/broker.h"
#include "coordinator/identity/audit_record.h"
#include "coordinator/identity/tokens.h"
#include "coordinator/store/coordinator_store.h"

namespace aifed::coordinator {

// What became of asking a site for part of a job's output (LOG_REQUEST, protocol 1.2).
struct OutputAnswer {
  enum class Failure {
    kNone,         // `data` is the agent's LOG_DATA (which may carry the agent's own error)
    kUnreachable,  // the site has no open session: nothing was sent
    kOldAgent,     // the site's agent speaks a protocol older than 1.2
    kBusy,         // too many output requests are waiting for their sites
    kTimeout,      // sent, but no LOG_DATA came in time
  };
  Failure failure = Failure::kNone;
  std::string message;  // for kUnreachable..kTimeout: the reason in words
  LogData data;
};

// Where GET /api/v1/history and GET /api/v1/sites/{id}/events read (docs/api.md,
// "History"): the store holding the samples and site events, and how they are kept.
struct HistoryAccess {
  store::CoordinatorStore* store = nullptr;  // null: no history is kept
  Duration interval = std::chrono::seconds(60);
  Duration retention = std::chrono::hours(24 * 14);
  // Runs `read` with a store connection off the event loop, then `done` on it: a
  // federation chart over a long window sums many rows (docs/operations.md, "History").
  // Null: `read` runs at once with `store`, on the caller's thread.
  std::function<void(std::function<void(store::CoordinatorStore&)> read, std::function<void()> done)>
      off_loop;
};

// What the REST layer needs from the daemon.
class JobService {
 public:
  virtual ~JobService() = default;
  virtual broker::Broker& broker() = 0;
  // The wall clock, for what the REST layer records and shows.
  virtual Time now() const = 0;
  // Both clocks, for the broker (its intervals run on the monotonic one).
  virtual Instant instant() const = 0;
  // Runs the broker's tick (placement); the daemon times it for the placement metrics.
  virtual void tick(Instant now, broker::Effects& fx) { broker().tick(now, fx); }
  // Persists `fx` and the `audit` rows describing it in one transaction, then sends
  // `fx`'s messages; an error means nothing was made durable.
  virtual Status commit(broker::Effects& fx, std::vector<identity::AuditRecord> audit) = 0;
  // Group commit for job intake: gives the broker a placement tick, persists `fx` and
  // `audit` with the tick's effects, sends the messages, then calls `done` with the
  // outcome, possibly later (the daemon batches every submission that arrives while a
  // commit is being written into the next transaction). The default ticks and commits
  // at once.
  virtual void commitAsync(broker::Effects fx, std::vector<identity::AuditRecord> audit,
                           std::function<void(Status)> done) {
    broker().tick(instant(), fx);
    Status s = commit(fx, std::move(audit));
    if (done) done(s);
  }
  // Whether changes can be made durable now: kUnavailable while the daemon's database
  // refuses writes (every change is then refused before it is made). Default: yes.
  virtual Status writable() const { return Status::Ok(); }
  // Before a new job takes an id: kUnavailable when no id may be handed out now (the
  // daemon's id lease cannot be made durable). The default has no lease.
  virtual Status reserveJobId() { return Status::Ok(); }
  // The same for `count` new ids at once (an array's tasks).
  virtual Status reserveJobIds(int64_t count) {
    (void)count;
    return reserveJobId();
  }
  // Per-connection counters for the federation summary.
  virtual boost::json::object transportStats() const = 0;
  // Every decision stored for a job, oldest first; explain falls back to the last one
  // when the broker has none in memory (a job decided before a restart). The default
  // has no store.
  virtual Result<std::vector<broker::PlacementDecision>> storedDecisions(
      const std::string& job_id) {
    (void)job_id;
    return std::vector<broker::PlacementDecision>{};
  }

  // --- Identity ---
  // Makes a token's record durable (create, revoke, last use), in its own transaction.
  virtual Status saveToken(const identity::TokenRecord& token) = 0;
  // Audit rows, newest first.
  virtual Result<std::vector<identity::AuditRecord>> auditLog(const store::AuditQuery& query) = 0;
  // An audit row of a request that changed nothing (refused, or failed before any
  // effect): made durable with the next group commit, so refusals cost no transaction each.
  virtual void recordAudit(identity::AuditRecord row) = 0;
  // Asks `site` for part of an attempt's output: sends `request` (its request_id is the
  // daemon's to fill) and calls `done` once, on the event-loop thread, with the LOG_DATA
  // or why there is none. Never blocks: `done` may run after this returns. The default
  // reaches no site.
  virtual void requestOutput(const std::string& site, LogRequest request,
                             std::function<void(OutputAnswer)> done) {
    (void)request;
    done(
        {OutputAnswer::Failure::kUnreachable, "site " + site + " cannot be reached from here", {}});
  }

  // Every policy switch ever made, oldest first. The default: this process's only.
  virtual Result<std::vector<broker::PolicyChange>> policyChanges() {
    return broker().policyHistory();
  }

  // --- The federation file re-read (POST /api/v1/admin/reload) ---
  // Reloads the federation file on the caller's (the loop's) thread: the diff applied
  // ({"added":[...],"removed":[...],"rekeyed":[...],"changed":[...],"unchanged":N}, its
  // effects in `fx`), or why nothing changed (federation_reload.h). Default: no file.
  virtual Result<boost::json::object> reloadFederation(broker::Effects& fx) {
    (void)fx;
    return failedPrecondition("this coordinator has no federation file to reload");
  }

  // --- Console history ---
  // The store the history routes read (reads only, on the caller's thread). Default: none.
  virtual HistoryAccess history() { return {}; }
};

}  // namespace aifed::coordinator
