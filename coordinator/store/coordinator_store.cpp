#include "coordinator/store/coordinator_store.h"

#include <boost/json.hpp>
#include <string_view>
#include <utility>

#include "common/ids.h"
#include "protocol/codec.h"
#include "sqlite/database.h"

namespace aifed::store {

namespace {

using broker::Effects;
using broker::JobRecord;
using broker::PlacementDecision;
using broker::SiteRecord;
using broker::SiteVerdict;
using sqlite::Database;
using sqlite::Statement;
using sqlite::Transaction;

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
};

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

class CoordinatorStoreImpl final : public CoordinatorStore {
 public:
  explicit CoordinatorStoreImpl(Database db) : db_(std::move(db)) {}

  // --- CoordinatorStore ---
  Status apply(const Effects& fx, const std::vector<identity::AuditRecord>& audit) override;
  Result<std::vector<JobRecord>> loadJobs() override;
  Result<std::vector<SiteRecord>> loadSites() override;
  Result<int64_t> nextJobSeq() override;
  Result<std::vector<PlacementDecision>> decisions(const std::string& job_id) override;
  Result<std::vector<broker::PolicyChange>> policyChanges() override;
  Result<int> schemaVersion() override { return db_.schemaVersion(); }
  Status saveToken(const identity::TokenRecord& token) override;
  Result<std::vector<identity::TokenRecord>> loadTokens() override;
  Result<std::vector<identity::AuditRecord>> audit(const AuditQuery& query) override;

 private:
  Status saveAudit(const std::vector<identity::AuditRecord>& rows);
  Status savePolicyChanges(const std::vector<broker::PolicyChange>& changes);
  Status saveJobs(const std::vector<JobRecord>& jobs);
  Status saveSites(const std::vector<SiteRecord>& sites);
  Status saveDecisions(const std::vector<PlacementDecision>& decisions);

  Database db_;
};

Status CoordinatorStoreImpl::apply(const Effects& fx,
                                   const std::vector<identity::AuditRecord>& audit) {
  if (fx.jobs.empty() && fx.sites.empty() && fx.decisions.empty() && fx.policy_changes.empty() &&
      audit.empty()) {
    return Status::Ok();
  }
  Result<Transaction> tx = Transaction::begin(db_);
  if (!tx.ok()) return tx.status();
  if (Status s = saveJobs(fx.jobs); !s.ok()) return s;
  if (Status s = saveSites(fx.sites); !s.ok()) return s;
  if (Status s = saveDecisions(fx.decisions); !s.ok()) return s;
  if (Status s = savePolicyChanges(fx.policy_changes); !s.ok()) return s;
  if (Status s = saveAudit(audit); !s.ok()) return s;
  return tx->commit();
}

Status CoordinatorStoreImpl::saveAudit(const std::vector<identity::AuditRecord>& rows) {
  if (rows.empty()) return Status::Ok();
  Result<Statement> st = db_.prepare(R"sql(
INSERT INTO audit_log (at, actor, actor_name, role, action, target, remote_address, outcome,
                       detail)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9))sql");
  if (!st.ok()) return st.status();
  for (const identity::AuditRecord& a : rows) {
    st->reset();
    st->bindInt64(1, toMillis(a.at))
        .bindText(2, a.actor)
        .bindText(3, a.actor_name)
        .bindText(4, a.role)
        .bindText(5, a.action)
        .bindText(6, a.target)
        .bindText(7, a.remote_address)
        .bindText(8, a.outcome)
        .bindText(9, a.detail);
    if (Status s = st->run(); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<std::vector<identity::AuditRecord>> CoordinatorStoreImpl::audit(const AuditQuery& q) {
  // An action ending in '.' is a prefix: "job." matches job.submit and job.cancel.
  bool prefix = !q.action.empty() && q.action.back() == '.';
  Result<Statement> st = db_.prepare(R"sql(
SELECT id, at, actor, actor_name, role, action, target, remote_address, outcome, detail
FROM audit_log
WHERE (?1 = 0 OR id < ?1)
  AND (?2 = '' OR actor = ?2)
  AND (?3 = '' OR (?4 = 0 AND action = ?3) OR (?4 = 1 AND substr(action, 1, length(?3)) = ?3))
ORDER BY id DESC LIMIT ?5)sql");
  if (!st.ok()) return st.status();
  st->bindInt64(1, q.before)
      .bindText(2, q.actor)
      .bindText(3, q.action)
      .bindBool(4, prefix)
      .bindInt64(5, static_cast<int64_t>(q.limit));
  std::vector<identity::AuditRecord> out;
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    identity::AuditRecord& a = out.emplace_back();
    a.id = st->columnInt64(0);
    a.at = fromMillis(st->columnInt64(1));
    a.actor = st->columnText(2);
    a.actor_name = st->columnText(3);
    a.role = st->columnText(4);
    a.action = st->columnText(5);
    a.target = st->columnText(6);
    a.remote_address = st->columnText(7);
    a.outcome = st->columnText(8);
    a.detail = st->columnText(9);
  }
  return out;
}

Status CoordinatorStoreImpl::saveToken(const identity::TokenRecord& t) {
  boost::json::array scope;
  for (const std::string& s : t.scope) scope.emplace_back(s);
  Result<Transaction> tx = Transaction::begin(db_);
  if (!tx.ok()) return tx.status();
  Result<Statement> st = db_.prepare(R"sql(
INSERT INTO tokens (id, name, role, scope, secret_sha256, created_at, created_by, revoked_at,
                    last_used_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
ON CONFLICT (id) DO UPDATE SET
  name = excluded.name, role = excluded.role, scope = excluded.scope,
  secret_sha256 = excluded.secret_sha256, created_at = excluded.created_at,
  created_by = excluded.created_by, revoked_at = excluded.revoked_at,
  last_used_at = excluded.last_used_at)sql");
  if (!st.ok()) return st.status();
  st->bindText(1, t.id)
      .bindText(2, t.name)
      .bindText(3, identity::roleName(t.role))
      .bindText(4, boost::json::serialize(scope))
      .bindText(5, t.secret_sha256)
      .bindInt64(6, toMillis(t.created_at))
      .bindText(7, t.created_by)
      .bindInt64(8, optionalMillis(t.revoked_at))
      .bindInt64(9, optionalMillis(t.last_used_at));
  if (Status s = st->run(); !s.ok()) return s;
  return tx->commit();
}

Result<std::vector<identity::TokenRecord>> CoordinatorStoreImpl::loadTokens() {
  Result<Statement> st = db_.prepare(R"sql(
SELECT id, name, role, scope, secret_sha256, created_at, created_by, revoked_at, last_used_at
FROM tokens ORDER BY created_at, id)sql");
  if (!st.ok()) return st.status();
  std::vector<identity::TokenRecord> out;
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    identity::TokenRecord& t = out.emplace_back();
    t.id = st->columnText(0);
    const std::string where = "token " + t.id;
    t.name = st->columnText(1);
    std::optional<identity::Role> role = identity::parseRole(st->columnText(2));
    if (!role) return internalError(where + ": unknown role \"" + st->columnText(2) + "\"");
    t.role = *role;
    Result<boost::json::value> scope = parseJson(st->columnText(3), where);
    if (!scope.ok()) return scope.status();
    if (!scope->is_array()) return internalError(where + ": scope is not an array");
    for (const boost::json::value& s : scope->as_array()) {
      if (!s.is_string()) return internalError(where + ": scope holds a non-string");
      t.scope.emplace_back(s.as_string());
    }
    t.secret_sha256 = st->columnText(4);
    t.created_at = fromMillis(st->columnInt64(5));
    t.created_by = st->columnText(6);
    t.revoked_at = optionalTime(*st, 7);
    t.last_used_at = optionalTime(*st, 8);
  }
  return out;
}

Status CoordinatorStoreImpl::savePolicyChanges(const std::vector<broker::PolicyChange>& changes) {
  if (changes.empty()) return Status::Ok();
  Result<Statement> st = db_.prepare(R"sql(
INSERT INTO policy_changes (at, from_policy, to_policy, to_version, actor, reason)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (at, from_policy, to_policy) DO UPDATE SET
  to_version = excluded.to_version, actor = excluded.actor, reason = excluded.reason)sql");
  if (!st.ok()) return st.status();
  for (const broker::PolicyChange& c : changes) {
    st->reset();
    st->bindInt64(1, toMillis(c.at))
        .bindText(2, c.from)
        .bindText(3, c.to)
        .bindInt64(4, c.to_version)
        .bindText(5, c.actor)
        .bindText(6, c.reason);
    if (Status s = st->run(); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<std::vector<broker::PolicyChange>> CoordinatorStoreImpl::policyChanges() {
  Result<Statement> st = db_.prepare(R"sql(
SELECT at, from_policy, to_policy, to_version, actor, reason FROM policy_changes
ORDER BY at, id)sql");
  if (!st.ok()) return st.status();
  std::vector<broker::PolicyChange> out;
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    broker::PolicyChange& c = out.emplace_back();
    c.at = fromMillis(st->columnInt64(0));
    c.from = st->columnText(1);
    c.to = st->columnText(2);
    c.to_version = static_cast<int>(st->columnInt64(3));
    c.actor = st->columnText(4);
    c.reason = st->columnText(5);
  }
  return out;
}

Status CoordinatorStoreImpl::saveJobs(const std::vector<JobRecord>& jobs) {
  if (jobs.empty()) return Status::Ok();
  Result<Statement> st = db_.prepare(R"sql(
INSERT INTO jobs (id, seq, state, site, attempt, local_id, reason, cancel_requested,
                  excluded_sites, spec, submitted_at, updated_at, dispatched_at,
                  last_sent_at, started_at, ended_at, exit_code, withdrawing)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
ON CONFLICT (id) DO UPDATE SET
  state = excluded.state, site = excluded.site, attempt = excluded.attempt,
  local_id = excluded.local_id, reason = excluded.reason,
  cancel_requested = excluded.cancel_requested, excluded_sites = excluded.excluded_sites,
  spec = excluded.spec, submitted_at = excluded.submitted_at,
  updated_at = excluded.updated_at, dispatched_at = excluded.dispatched_at,
  last_sent_at = excluded.last_sent_at, started_at = excluded.started_at,
  ended_at = excluded.ended_at, exit_code = excluded.exit_code,
  withdrawing = excluded.withdrawing)sql");
  if (!st.ok()) return st.status();
  for (const JobRecord& job : jobs) {
    Result<int64_t> seq = jobSeq(job.id);
    if (!seq.ok()) return seq.status();
    boost::json::array excluded;
    for (const std::string& site : job.excluded_sites) excluded.emplace_back(site);
    std::optional<int64_t> exit_code;
    if (job.exit_code) exit_code = *job.exit_code;
    st->reset();
    st->bindText(1, job.id)
        .bindInt64(2, *seq)
        .bindText(3, jobStateName(job.state))
        .bindText(4, job.site)
        .bindInt64(5, job.attempt)
        .bindText(6, job.local_id)
        .bindText(7, job.reason)
        .bindBool(8, job.cancel_requested)
        .bindText(9, boost::json::serialize(excluded))
        .bindText(10, boost::json::serialize(toJson(job.spec)))
        .bindInt64(11, toMillis(job.submitted_at))
        .bindInt64(12, toMillis(job.updated_at))
        .bindInt64(13, optionalMillis(job.dispatched_at))
        .bindInt64(14, optionalMillis(job.last_sent_at))
        .bindInt64(15, optionalMillis(job.started_at))
        .bindInt64(16, optionalMillis(job.ended_at))
        .bindInt64(17, exit_code)
        .bindBool(18, job.withdrawing);
    if (Status s = st->run(); !s.ok()) return s;
  }
  return Status::Ok();
}

Status CoordinatorStoreImpl::saveSites(const std::vector<SiteRecord>& sites) {
  if (sites.empty()) return Status::Ok();
  Result<Statement> st = db_.prepare(R"sql(
INSERT INTO sites (id, state, drained, capacity, degraded, degraded_reason, last_heard,
                   last_report, unreachable_since, agent_version, jobs_placed)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
ON CONFLICT (id) DO UPDATE SET
  state = excluded.state, drained = excluded.drained, capacity = excluded.capacity,
  degraded = excluded.degraded, degraded_reason = excluded.degraded_reason,
  last_heard = excluded.last_heard, last_report = excluded.last_report,
  unreachable_since = excluded.unreachable_since, agent_version = excluded.agent_version,
  jobs_placed = excluded.jobs_placed)sql");
  if (!st.ok()) return st.status();
  for (const SiteRecord& site : sites) {
    st->reset();
    st->bindText(1, site.id).bindText(2, siteStateName(site.state)).bindBool(3, site.drained);
    if (site.capacity) {
      st->bindText(4, boost::json::serialize(toJson(*site.capacity)));
    } else {
      st->bindNull(4);
    }
    st->bindBool(5, site.degraded)
        .bindText(6, site.degraded_reason)
        .bindInt64(7, optionalMillis(site.last_heard))
        .bindInt64(8, optionalMillis(site.last_report))
        .bindInt64(9, optionalMillis(site.unreachable_since))
        .bindText(10, site.agent_version)
        .bindInt64(11, site.jobs_placed);
    if (Status s = st->run(); !s.ok()) return s;
  }
  return Status::Ok();
}

Status CoordinatorStoreImpl::saveDecisions(const std::vector<PlacementDecision>& decisions) {
  if (decisions.empty()) return Status::Ok();
  // A decision is identified by (job, attempt, instant): storing the same effects again
  // rewrites it in place instead of adding a copy.
  Result<Statement> upsert = db_.prepare(R"sql(
INSERT INTO decisions (job_id, attempt, decided_at, policy, chosen_site, summary, policy_version)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (job_id, attempt, decided_at) DO UPDATE SET
  policy = excluded.policy, chosen_site = excluded.chosen_site, summary = excluded.summary,
  policy_version = excluded.policy_version
RETURNING id)sql");
  if (!upsert.ok()) return upsert.status();
  Result<Statement> clear = db_.prepare("DELETE FROM decision_verdicts WHERE decision_id = ?1");
  if (!clear.ok()) return clear.status();
  Result<Statement> clear_scores =
      db_.prepare("DELETE FROM decision_scores WHERE decision_id = ?1");
  if (!clear_scores.ok()) return clear_scores.status();
  Result<Statement> score = db_.prepare(R"sql(
INSERT INTO decision_scores (decision_id, position, term, plugin, raw, score, weight)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7))sql");
  if (!score.ok()) return score.status();
  Result<Statement> verdict = db_.prepare(R"sql(
INSERT INTO decision_verdicts (decision_id, position, site, feasible, rejected_by, reason,
                               partition, estimated_start_s, free_nodes, score, queue_wait_s,
                               staging_s)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12))sql");
  if (!verdict.ok()) return verdict.status();

  for (const PlacementDecision& d : decisions) {
    upsert->reset();
    upsert->bindText(1, d.job_id)
        .bindInt64(2, d.attempt)
        .bindInt64(3, toMillis(d.decided_at))
        .bindText(4, d.policy)
        .bindText(5, d.chosen_site)
        .bindText(6, d.summary)
        .bindInt64(7, d.policy_version);
    Result<bool> row = upsert->step();
    if (!row.ok()) return row.status();
    // Invariant: RETURNING yields the row of an insert as well as of an update.
    if (!*row) return internalError("decision upsert returned no id");
    int64_t id = upsert->columnInt64(0);
    if (Status s = upsert->run(); !s.ok()) return s;  // finish the statement

    clear->reset();
    clear->bindInt64(1, id);
    if (Status s = clear->run(); !s.ok()) return s;
    clear_scores->reset();
    clear_scores->bindInt64(1, id);
    if (Status s = clear_scores->run(); !s.ok()) return s;
    for (size_t i = 0; i < d.verdicts.size(); ++i) {
      const SiteVerdict& v = d.verdicts[i];
      verdict->reset();
      verdict->bindInt64(1, id)
          .bindInt64(2, static_cast<int64_t>(i))
          .bindText(3, v.site)
          .bindBool(4, v.feasible)
          .bindText(5, v.rejected_by)
          .bindText(6, v.reason)
          .bindText(7, v.partition)
          .bindDouble(8, v.estimated_start_s)
          .bindInt64(9, v.free_nodes)
          .bindDouble(10, v.score)
          .bindDouble(11, v.queue_wait_s)
          .bindDouble(12, v.staging_s);
      if (Status s = verdict->run(); !s.ok()) return s;
      for (size_t k = 0; k < v.scores.size(); ++k) {
        const SiteVerdict::ScoreTerm& t = v.scores[k];
        score->reset();
        score->bindInt64(1, id)
            .bindInt64(2, static_cast<int64_t>(i))
            .bindInt64(3, static_cast<int64_t>(k))
            .bindText(4, t.plugin)
            .bindDouble(5, t.raw)
            .bindDouble(6, t.score)
            .bindDouble(7, t.weight);
        if (Status s = score->run(); !s.ok()) return s;
      }
    }
  }
  return Status::Ok();
}

Result<std::vector<JobRecord>> CoordinatorStoreImpl::loadJobs() {
  Result<Statement> st = db_.prepare(R"sql(
SELECT id, state, site, attempt, local_id, reason, cancel_requested, excluded_sites, spec,
       submitted_at, updated_at, dispatched_at, last_sent_at, started_at, ended_at, exit_code,
       withdrawing
FROM jobs ORDER BY seq)sql");
  if (!st.ok()) return st.status();
  std::vector<JobRecord> jobs;
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    JobRecord job;
    job.id = st->columnText(0);
    const std::string where = "job " + job.id;
    std::optional<JobState> state = parseJobState(st->columnText(1));
    if (!state) return internalError(where + ": unknown state \"" + st->columnText(1) + "\"");
    job.state = *state;
    job.site = st->columnText(2);
    job.attempt = static_cast<int>(st->columnInt64(3));
    job.local_id = st->columnText(4);
    job.reason = st->columnText(5);
    job.cancel_requested = st->columnBool(6);

    Result<boost::json::value> excluded = parseJson(st->columnText(7), where);
    if (!excluded.ok()) return excluded.status();
    if (!excluded->is_array()) return internalError(where + ": excluded_sites is not an array");
    for (const boost::json::value& site : excluded->as_array()) {
      if (!site.is_string()) return internalError(where + ": excluded_sites holds a non-string");
      job.excluded_sites.emplace_back(site.as_string());
    }

    Result<boost::json::value> spec_json = parseJson(st->columnText(8), where);
    if (!spec_json.ok()) return spec_json.status();
    Result<JobSpec> spec = jobSpecFromJson(*spec_json, "jobs[" + job.id + "].spec");
    if (!spec.ok()) {
      return internalError(where + ": stored spec is unreadable: " + spec.status().toString());
    }
    job.spec = std::move(*spec);

    job.submitted_at = fromMillis(st->columnInt64(9));
    job.updated_at = fromMillis(st->columnInt64(10));
    job.dispatched_at = optionalTime(*st, 11);
    job.last_sent_at = optionalTime(*st, 12);
    job.started_at = optionalTime(*st, 13);
    job.ended_at = optionalTime(*st, 14);
    if (std::optional<int64_t> code = st->columnOptionalInt64(15)) {
      job.exit_code = static_cast<int>(*code);
    }
    job.withdrawing = st->columnBool(16);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

Result<std::vector<SiteRecord>> CoordinatorStoreImpl::loadSites() {
  Result<Statement> st = db_.prepare(R"sql(
SELECT id, state, drained, capacity, degraded, degraded_reason, last_heard, last_report,
       unreachable_since, agent_version, jobs_placed
FROM sites ORDER BY rowid)sql");
  if (!st.ok()) return st.status();
  std::vector<SiteRecord> sites;
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    SiteRecord site;
    site.id = st->columnText(0);
    const std::string where = "site " + site.id;
    std::optional<SiteState> state = parseSiteState(st->columnText(1));
    if (!state) return internalError(where + ": unknown state \"" + st->columnText(1) + "\"");
    site.state = *state;
    site.drained = st->columnBool(2);
    if (!st->isNull(3)) {
      Result<boost::json::value> json = parseJson(st->columnText(3), where);
      if (!json.ok()) return json.status();
      Result<SiteCapacity> capacity =
          siteCapacityFromJson(*json, "sites[" + site.id + "].capacity");
      if (!capacity.ok()) {
        return internalError(where +
                             ": stored capacity is unreadable: " + capacity.status().toString());
      }
      site.capacity = std::move(*capacity);
    }
    site.degraded = st->columnBool(4);
    site.degraded_reason = st->columnText(5);
    site.last_heard = optionalTime(*st, 6);
    site.last_report = optionalTime(*st, 7);
    site.unreachable_since = optionalTime(*st, 8);
    site.agent_version = st->columnText(9);
    site.jobs_placed = st->columnInt64(10);
    sites.push_back(std::move(site));
  }
  return sites;
}

Result<int64_t> CoordinatorStoreImpl::nextJobSeq() {
  return db_.queryInt64("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs");
}

Result<std::vector<PlacementDecision>> CoordinatorStoreImpl::decisions(const std::string& job_id) {
  // One statement, so the decisions and their verdicts come from one snapshot.
  Result<Statement> st = db_.prepare(R"sql(
SELECT d.id, d.attempt, d.decided_at, d.policy, d.chosen_site, d.summary,
       v.position, v.site, v.feasible, v.rejected_by, v.reason, v.partition,
       v.estimated_start_s, v.free_nodes, v.score, d.policy_version, v.queue_wait_s,
       v.staging_s
FROM decisions d LEFT JOIN decision_verdicts v ON v.decision_id = d.id
WHERE d.job_id = ?1
ORDER BY d.decided_at, d.id, v.position)sql");
  if (!st.ok()) return st.status();
  st->bindText(1, job_id);
  std::vector<PlacementDecision> out;
  std::vector<int64_t> ids;  // parallel to out
  int64_t current = -1;
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    int64_t id = st->columnInt64(0);
    if (out.empty() || id != current) {
      current = id;
      PlacementDecision& d = out.emplace_back();
      d.job_id = job_id;
      d.attempt = static_cast<int>(st->columnInt64(1));
      d.decided_at = fromMillis(st->columnInt64(2));
      d.policy = st->columnText(3);
      d.chosen_site = st->columnText(4);
      d.summary = st->columnText(5);
      d.policy_version = static_cast<int>(st->columnInt64(15));
      ids.push_back(id);
    }
    if (st->isNull(6)) continue;  // a decision without verdicts (empty federation)
    SiteVerdict& v = out.back().verdicts.emplace_back();
    v.site = st->columnText(7);
    v.feasible = st->columnBool(8);
    v.rejected_by = st->columnText(9);
    v.reason = st->columnText(10);
    v.partition = st->columnText(11);
    v.estimated_start_s = st->columnDouble(12);
    v.free_nodes = static_cast<int>(st->columnInt64(13));
    v.score = st->columnDouble(14);
    v.queue_wait_s = st->columnDouble(16);
    v.staging_s = st->columnDouble(17);
  }
  // Score terms, per decision (a decision has few sites' worth of rows).
  Result<Statement> terms = db_.prepare(R"sql(
SELECT position, plugin, raw, score, weight FROM decision_scores
WHERE decision_id = ?1 ORDER BY position, term)sql");
  if (!terms.ok()) return terms.status();
  for (size_t i = 0; i < out.size(); ++i) {
    terms->reset();
    terms->bindInt64(1, ids[i]);
    for (;;) {
      Result<bool> row = terms->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      int64_t position = terms->columnInt64(0);
      if (position < 0 || static_cast<size_t>(position) >= out[i].verdicts.size()) {
        return internalError("decision " + std::to_string(ids[i]) + ": a score row names verdict " +
                             std::to_string(position));
      }
      SiteVerdict::ScoreTerm& t =
          out[i].verdicts[static_cast<size_t>(position)].scores.emplace_back();
      t.plugin = terms->columnText(1);
      t.raw = terms->columnDouble(2);
      t.score = terms->columnDouble(3);
      t.weight = terms->columnDouble(4);
    }
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<CoordinatorStore>> CoordinatorStore::open(const std::string& path) {
  Result<Database> db = Database::open(path, {.application_id = kApplicationId,
                                              .application_name = "aifed coordinator",
                                              .migrations = kMigrations});
  if (!db.ok()) return db.status();
  return std::unique_ptr<CoordinatorStore>(std::make_unique<CoordinatorStoreImpl>(std::move(*db)));
}

}  // namespace aifed::store
