#include "coordinator/store/coordinator_store.h"

#include <boost/json.hpp>
#include <filesystem>
#include <string_view>
#include <utility>

#include "common/ids.h"
#include "coordinator/store/coordinator_store_impl.h"
#include "protocol/codec.h"
#include "sqlite/database.h"

namespace aifed::store {
namespace internal {
namespace {

// "aiFC" in the file header.
constexpr int32_t kApplicationId = 0x61694643;

// migrations[i] brings the schema from version i to i + 1. Append, never edit.
//
// Jobs and sites keep one column per field, so an operator can query them with the
// sqlite3 shell; a JobSpec is stored in its one JSON form (protocol/codec.h). Verdicts
// get their own table rather than a JSON column: their scores are doubles, and a REAL
// column round-trips them bit for bit.
constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE jobs (
  id               TEXT PRIMARY KEY,
  seq              INTEGER NOT NULL UNIQUE,   -- the <seq> of "j-<seq>"
  state            TEXT NOT NULL,             -- jobStateName()
  site             TEXT NOT NULL,
  attempt          INTEGER NOT NULL,
  local_id         TEXT NOT NULL,
  reason           TEXT NOT NULL,
  cancel_requested INTEGER NOT NULL,
  excluded_sites   TEXT NOT NULL,             -- JSON array of site ids
  spec             TEXT NOT NULL,             -- JobSpec as JSON (protocol/codec.h)
  submitted_at     INTEGER NOT NULL,          -- ms since the Unix epoch, like every *_at
  updated_at       INTEGER NOT NULL,
  dispatched_at    INTEGER,
  last_sent_at     INTEGER,
  started_at       INTEGER,
  ended_at         INTEGER,
  exit_code        INTEGER
);
CREATE INDEX jobs_by_state ON jobs(state);

CREATE TABLE sites (
  id                TEXT PRIMARY KEY,
  state             TEXT NOT NULL,            -- siteStateName()
  drained           INTEGER NOT NULL,
  capacity          TEXT,                     -- SiteCapacity as JSON, NULL before the first report
  degraded          INTEGER NOT NULL,
  degraded_reason   TEXT NOT NULL,
  last_heard        INTEGER,
  last_report       INTEGER,
  unreachable_since INTEGER,
  agent_version     TEXT NOT NULL,
  jobs_placed       INTEGER NOT NULL
);

CREATE TABLE decisions (
  id          INTEGER PRIMARY KEY,
  job_id      TEXT NOT NULL,
  attempt     INTEGER NOT NULL,
  decided_at  INTEGER NOT NULL,
  policy      TEXT NOT NULL,
  chosen_site TEXT NOT NULL,                  -- '' while the job waits
  summary     TEXT NOT NULL,
  UNIQUE (job_id, attempt, decided_at)        -- what makes apply() idempotent
);
CREATE INDEX decisions_by_job ON decisions(job_id, decided_at, id);

CREATE TABLE decision_verdicts (
  decision_id       INTEGER NOT NULL REFERENCES decisions(id) ON DELETE CASCADE,
  position          INTEGER NOT NULL,         -- federation order
  site              TEXT NOT NULL,
  feasible          INTEGER NOT NULL,
  rejected_by       TEXT NOT NULL,
  reason            TEXT NOT NULL,
  partition         TEXT NOT NULL,
  estimated_start_s REAL NOT NULL,
  free_nodes        INTEGER NOT NULL,
  score             REAL NOT NULL,
  PRIMARY KEY (decision_id, position)
) WITHOUT ROWID;
)sql",
    // 2: the placement engine's breakdown (policy version, start split, one row per
    // score plugin and site) and the audit trail of policy switches.
    R"sql(
ALTER TABLE decisions ADD COLUMN policy_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE decision_verdicts ADD COLUMN queue_wait_s REAL NOT NULL DEFAULT 0;
ALTER TABLE decision_verdicts ADD COLUMN staging_s REAL NOT NULL DEFAULT 0;

CREATE TABLE decision_scores (
  decision_id INTEGER NOT NULL REFERENCES decisions(id) ON DELETE CASCADE,
  position    INTEGER NOT NULL,               -- the verdict's position (federation order)
  term        INTEGER NOT NULL,               -- the plugin's position in the policy
  plugin      TEXT NOT NULL,
  raw         REAL NOT NULL,
  score       REAL NOT NULL,
  weight      REAL NOT NULL,
  PRIMARY KEY (decision_id, position, term)
) WITHOUT ROWID;

CREATE TABLE policy_changes (
  id          INTEGER PRIMARY KEY,
  at          INTEGER NOT NULL,
  from_policy TEXT NOT NULL,
  to_policy   TEXT NOT NULL,
  to_version  INTEGER NOT NULL,
  actor       TEXT NOT NULL,
  reason      TEXT NOT NULL,
  UNIQUE (at, from_policy, to_policy)         -- what makes apply() idempotent
);
)sql",
    // 3: withdrawal of pending jobs (docs/placement.md, "Withdrawal").
    R"sql(
ALTER TABLE jobs ADD COLUMN withdrawing INTEGER NOT NULL DEFAULT 0;
)sql",
    // 4: API tokens (only a SHA-256 of each secret) and the audit log of every
    // state-changing REST request (docs/security.md).
    R"sql(
CREATE TABLE tokens (
  id            TEXT PRIMARY KEY,             -- the <id> of aifed_<id>_<secret>
  name          TEXT NOT NULL,
  role          TEXT NOT NULL,                -- roleName()
  scope         TEXT NOT NULL,                -- JSON array of project or site ids
  secret_sha256 TEXT NOT NULL,                -- lower-case hex
  created_at    INTEGER NOT NULL,
  created_by    TEXT NOT NULL,                -- token id, or 'bootstrap'
  revoked_at    INTEGER,
  last_used_at  INTEGER
);

CREATE TABLE audit_log (
  id             INTEGER PRIMARY KEY,
  at             INTEGER NOT NULL,
  actor          TEXT NOT NULL,               -- token id, '' when none was recognised
  actor_name     TEXT NOT NULL,
  role           TEXT NOT NULL,
  action         TEXT NOT NULL,               -- 'job.submit', 'site.drain', ...
  target         TEXT NOT NULL,
  remote_address TEXT NOT NULL,
  outcome        TEXT NOT NULL,               -- 'ok', 'denied', 'error'
  detail         TEXT NOT NULL
);
CREATE INDEX audit_by_actor ON audit_log(actor, id);
CREATE INDEX audit_by_action ON audit_log(action, id);
)sql",
    // 5: never lost, never twice (docs/operations.md, "Delivery guarantees"): each
    // attempt's latest status seq, attempts agents report that the coordinator has no
    // record of, and the federation this database belongs to.
    R"sql(
ALTER TABLE jobs ADD COLUMN status_seq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE quarantine (
  site       TEXT NOT NULL,
  job_id     TEXT NOT NULL,
  attempt    INTEGER NOT NULL,
  local_id   TEXT NOT NULL,
  state      TEXT NOT NULL,                   -- as the site last reported it
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  decision   TEXT NOT NULL,                   -- '' while undecided, 'cancel', 'release'
  decided_by TEXT NOT NULL,
  decided_at INTEGER,
  PRIMARY KEY (site, job_id, attempt)
) WITHOUT ROWID;

CREATE TABLE federation (
  key   TEXT PRIMARY KEY,                     -- 'id', 'name', 'created_at'
  value TEXT NOT NULL
);
)sql",
    // 6: what the site said when it accepted the current attempt (protocol 1.2): the
    // local account it runs as and where its output goes.
    R"sql(
ALTER TABLE jobs ADD COLUMN local_user TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN account TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN stdout_path TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN stderr_path TEXT NOT NULL DEFAULT '';
)sql",
    // 7: what the site's accounting says the current attempt used (JOB_USAGE, protocol
    // 1.2), as JSON; '' until it arrives.
    R"sql(
ALTER TABLE jobs ADD COLUMN site_usage TEXT NOT NULL DEFAULT '';
)sql",
    // 8: maintenance windows and who drained a site, why and when (docs/operations.md,
    // "Maintenance windows"); counters that are never reused (the next window id).
    R"sql(
ALTER TABLE sites ADD COLUMN drain_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN drained_by TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN drained_at INTEGER;
ALTER TABLE sites ADD COLUMN maintenance TEXT NOT NULL DEFAULT '[]';          -- JSON windows
ALTER TABLE sites ADD COLUMN maintenance_retired TEXT NOT NULL DEFAULT '[]';  -- JSON windows

CREATE TABLE counters (
  name  TEXT PRIMARY KEY,                     -- 'next_window_seq'
  value INTEGER NOT NULL
);
)sql",
    // 9: owners come from authentication (docs/security.md, "Job owners"): each token
    // belongs to a user. A token made earlier gets its name as user when the name is a
    // valid user name (JobSpec.user's rule), '' otherwise (it then cannot submit). The
    // audit log names the user an admin or portal submitted for.
    R"sql(
ALTER TABLE tokens ADD COLUMN user TEXT NOT NULL DEFAULT '';
UPDATE tokens SET user = name
  WHERE length(name) BETWEEN 1 AND 128 AND name NOT GLOB '*[^A-Za-z0-9._@-]*';
ALTER TABLE audit_log ADD COLUMN on_behalf_of TEXT NOT NULL DEFAULT '';
)sql",
    // 10: the console's history (docs/api.md, "History"): one sample per site every
    // history_interval and every site state transition, both pruned beyond
    // history_retention. Federation totals are summed from the samples when asked.
    R"sql(
CREATE TABLE site_samples (
  site               TEXT NOT NULL,
  t                  INTEGER NOT NULL,        -- ms since the Unix epoch
  state              TEXT NOT NULL,
  accelerators_total INTEGER NOT NULL,
  accelerators_used  INTEGER NOT NULL,
  accelerators_free  INTEGER NOT NULL,
  nodes_total        INTEGER NOT NULL,
  nodes_idle         INTEGER NOT NULL,
  pending_jobs       INTEGER NOT NULL,
  pending_node_hours REAL NOT NULL,
  running_jobs       INTEGER NOT NULL,
  stale              INTEGER NOT NULL,
  PRIMARY KEY (site, t)
) WITHOUT ROWID;
CREATE INDEX site_samples_by_t ON site_samples(t);

CREATE TABLE site_events (
  id     INTEGER PRIMARY KEY,
  site   TEXT NOT NULL,
  t      INTEGER NOT NULL,
  from_state TEXT NOT NULL,
  to_state   TEXT NOT NULL,
  reason TEXT NOT NULL,
  actor  TEXT NOT NULL
);
CREATE INDEX site_events_by_site ON site_events(site, t, id);
CREATE INDEX site_events_by_t ON site_events(t);
)sql",
    // 11: job arrays (docs/placement.md, "Arrays"): one row per array, its tasks are jobs
    // naming it; the next array id is a counter like next_window_seq (never reused).
    R"sql(
CREATE TABLE arrays (
  id            TEXT PRIMARY KEY,             -- "a-<seq>"
  seq           INTEGER NOT NULL UNIQUE,
  name          TEXT NOT NULL,
  project       TEXT NOT NULL,
  user          TEXT NOT NULL,
  submitted_at  INTEGER NOT NULL,             -- ms since the epoch
  indices       TEXT NOT NULL,                -- as submitted: "0-999:2,1001"
  max_running   INTEGER NOT NULL,             -- 0: no limit
  tasks         INTEGER NOT NULL
);
ALTER TABLE jobs ADD COLUMN array_id TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN array_index INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_by_array ON jobs (array_id, array_index) WHERE array_id <> '';
)sql",
};

}  // namespace

// For the read-only probe of `--check` (store_probe.cpp).
int32_t coordinatorApplicationId() {
  return kApplicationId;
}
int coordinatorMigrationCount() {
  return static_cast<int>(std::size(kMigrations));
}

std::optional<int64_t> optionalMillis(const std::optional<Time>& t) {
  if (!t) return std::nullopt;
  return toMillis(*t);
}

std::optional<Time> optionalTime(const Statement& st, int column) {
  std::optional<int64_t> ms = st.columnOptionalInt64(column);
  if (!ms) return std::nullopt;
  return fromMillis(*ms);
}

// The <seq> of a job id "j-<seq>" (common::parseJobSeq), or kInvalidArgument.
Result<int64_t> jobSeq(const std::string& id) {
  if (std::optional<int64_t> seq = common::parseJobSeq(id)) return *seq;
  return invalidArgument("job id \"" + id + "\" is not of the form j-<positive decimal>", "job.id");
}

Result<boost::json::value> parseJson(const std::string& text, const std::string& where) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec) return internalError("stored JSON of " + where + " is unreadable: " + ec.message());
  return value;
}

Status CoordinatorStoreImpl::apply(const Effects& fx,
                                   const std::vector<identity::AuditRecord>& audit) {
  if (fx.jobs.empty() && fx.sites.empty() && fx.decisions.empty() && fx.policy_changes.empty() &&
      fx.quarantined.empty() && !fx.next_window_seq && fx.arrays.empty() && !fx.next_array_seq &&
      audit.empty()) {
    return Status::Ok();
  }
  Result<Transaction> tx = Transaction::begin(db_);
  if (!tx.ok()) return tx.status();
  if (Status s = saveArrays(fx.arrays, fx.next_array_seq); !s.ok()) return s;
  if (Status s = saveJobs(fx.jobs); !s.ok()) return s;
  if (Status s = saveSites(fx.sites); !s.ok()) return s;
  if (Status s = saveDecisions(fx.decisions); !s.ok()) return s;
  if (Status s = savePolicyChanges(fx.policy_changes); !s.ok()) return s;
  if (Status s = saveQuarantined(fx.quarantined); !s.ok()) return s;
  if (Status s = saveWindowSeq(fx.next_window_seq); !s.ok()) return s;
  if (Status s = saveAudit(audit); !s.ok()) return s;
  return tx->commit();
}

}  // namespace internal

Result<std::unique_ptr<CoordinatorStore>> CoordinatorStore::open(const std::string& path,
                                                                bool create) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  if ((ec || size == 0) && !create) {
    return failedPrecondition(
        path + " holds no aifed coordinator database: the file is " + (ec ? "missing" : "empty") +
        " (a failed restore, a truncated copy or a wrong --database?). Restore the database "
        "(docs/operations.md, \"Backups and restores\"), or start a NEW federation with "
        "aifed-coordinator --init");
  }
  Result<sqlite::Database> db =
      sqlite::Database::open(path, {.application_id = internal::kApplicationId,
                                    .application_name = "aifed coordinator",
                                    .migrations = internal::kMigrations});
  if (!db.ok()) return db.status();
  return std::unique_ptr<CoordinatorStore>(std::make_unique<internal::CoordinatorStoreImpl>(std::move(*db)));
}

}  // namespace aifed::store
