#include "site-agent/agent_store.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <utility>

#include "protocol/codec.h"
#include "sqlite/database.h"

namespace aifed::agent {

namespace {

using sqlite::Database;
using sqlite::Statement;
using sqlite::Transaction;

// "aiFA" in the file header: a coordinator database is refused and vice versa.
constexpr int32_t kApplicationId = 0x61694641;

// migrations[i] brings the schema from version i to i + 1. Append, never edit.
constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE dispatches (
  job_id      TEXT NOT NULL,
  attempt     INTEGER NOT NULL,
  spec        TEXT NOT NULL,                  -- JobSpec as JSON (protocol/codec.h)
  accepted    INTEGER NOT NULL,
  reason      TEXT NOT NULL,
  local_id    TEXT NOT NULL,                  -- '' until the backend accepted it
  state       TEXT NOT NULL,                  -- jobStateName()
  received_at INTEGER NOT NULL,               -- ms since the Unix epoch
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (job_id, attempt)
);
CREATE INDEX dispatches_by_local_id ON dispatches(local_id);

-- seq keeps insertion order even after deletions (AUTOINCREMENT never reuses a value).
CREATE TABLE outbox (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  msg_id     TEXT NOT NULL UNIQUE,
  frame      TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
)sql",
    // 2: the sequence number of each attempt's latest JOB_STATUS (protocol 1.1).
    R"sql(
ALTER TABLE dispatches ADD COLUMN status_seq INTEGER NOT NULL DEFAULT 0;
)sql",
    // 3: when each attempt started and ended at the local scheduler (ms, NULL: not yet).
    R"sql(
ALTER TABLE dispatches ADD COLUMN started_at INTEGER;
ALTER TABLE dispatches ADD COLUMN ended_at INTEGER;
)sql",
    // 4: who each attempt runs as at the site, under which terms, and where its output goes.
    R"sql(
ALTER TABLE dispatches ADD COLUMN local_user TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatches ADD COLUMN uid INTEGER;
ALTER TABLE dispatches ADD COLUMN gid INTEGER;
ALTER TABLE dispatches ADD COLUMN account TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatches ADD COLUMN partition_name TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatches ADD COLUMN qos TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatches ADD COLUMN stdout_path TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatches ADD COLUMN stderr_path TEXT NOT NULL DEFAULT '';
)sql",
    // 5: the site rule that refused an attempt, and whether its usage (JOB_USAGE) is in the
    // outbox. Attempts recorded before know no usage to report.
    R"sql(
ALTER TABLE dispatches ADD COLUMN rule TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatches ADD COLUMN usage_reported INTEGER NOT NULL DEFAULT 0;
UPDATE dispatches SET usage_reported = 1;
CREATE INDEX dispatches_usage_due ON dispatches(usage_reported) WHERE usage_reported = 0;
)sql",
    // 6: the site's maintenance windows as the coordinator last sent them (MAINTENANCE);
    // their grace is meta 'maintenance_grace_ms'. They pause the job lease across restarts.
    R"sql(
CREATE TABLE maintenance_windows (
  id          TEXT PRIMARY KEY,               -- "mw-<n>"
  start_at    INTEGER NOT NULL,               -- ms since the Unix epoch
  end_at      INTEGER NOT NULL,
  reason      TEXT NOT NULL,
  declared_by TEXT NOT NULL
);
)sql",
};

constexpr std::string_view kDispatchColumns =
    "job_id, attempt, spec, accepted, reason, local_id, state, received_at, updated_at, "
    "status_seq, started_at, ended_at, local_user, uid, gid, account, partition_name, qos, "
    "stdout_path, stderr_path, rule, usage_reported";

Result<DispatchRecord> readDispatch(const Statement& st) {
  DispatchRecord record;
  record.tag.job_id = st.columnText(0);
  record.tag.attempt = static_cast<int>(st.columnInt64(1));
  const std::string where =
      "dispatch " + record.tag.job_id + "#" + std::to_string(record.tag.attempt);
  boost::system::error_code ec;
  boost::json::value json = boost::json::parse(st.columnText(2), ec);
  if (ec) return internalError(where + ": stored spec is not JSON: " + ec.message());
  Result<JobSpec> spec = jobSpecFromJson(json, "dispatches.spec");
  if (!spec.ok()) {
    return internalError(where + ": stored spec is unreadable: " + spec.status().toString());
  }
  record.spec = std::move(*spec);
  record.accepted = st.columnBool(3);
  record.reason = st.columnText(4);
  record.local_id = st.columnText(5);
  std::optional<JobState> state = parseJobState(st.columnText(6));
  if (!state) return internalError(where + ": unknown state \"" + st.columnText(6) + "\"");
  record.state = *state;
  record.received_at = fromMillis(st.columnInt64(7));
  record.updated_at = fromMillis(st.columnInt64(8));
  record.status_seq = static_cast<uint64_t>(std::max<int64_t>(0, st.columnInt64(9)));
  if (std::optional<int64_t> ms = st.columnOptionalInt64(10)) record.started_at = fromMillis(*ms);
  if (std::optional<int64_t> ms = st.columnOptionalInt64(11)) record.ended_at = fromMillis(*ms);
  record.identity.user = st.columnText(12);
  if (std::optional<int64_t> v = st.columnOptionalInt64(13)) record.identity.uid = uint32_t(*v);
  if (std::optional<int64_t> v = st.columnOptionalInt64(14)) record.identity.gid = uint32_t(*v);
  record.identity.account = st.columnText(15);
  record.identity.partition = st.columnText(16);
  record.identity.qos = st.columnText(17);
  record.stdout_path = st.columnText(18);
  record.stderr_path = st.columnText(19);
  record.rule = st.columnText(20);
  record.usage_reported = st.columnBool(21);
  return record;
}

// Runs a dispatch query expected to yield at most one row.
Result<std::optional<DispatchRecord>> oneDispatch(Statement& st) {
  Result<bool> row = st.step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<DispatchRecord>();
  Result<DispatchRecord> record = readDispatch(st);
  if (!record.ok()) return record.status();
  return std::optional<DispatchRecord>(std::move(*record));
}

class AgentStoreImpl final : public AgentStore {
 public:
  explicit AgentStoreImpl(Database db) : db_(std::move(db)) {}

  // --- AgentStore ---
  Result<std::optional<DispatchRecord>> findDispatch(const JobTag& tag) override;
  Status saveDispatch(const DispatchRecord& record) override;
  Result<std::vector<DispatchRecord>> usageDue(size_t limit) override;
  Result<std::vector<DispatchRecord>> activeDispatches() override;
  Result<std::optional<DispatchRecord>> findByLocalId(const std::string& local_id) override;
  Status enqueueOutbox(const OutboxEntry& entry) override;
  Status acknowledgeOutbox(const std::string& msg_id) override;
  Result<std::vector<OutboxEntry>> pendingOutbox() override;
  Result<uint64_t> outboxDepth() override;
  Result<uint64_t> loadEpoch() override;
  Status saveEpoch(uint64_t epoch) override;
  Result<uint64_t> startIncarnation() override;
  Result<LeaseState> loadLease() override;
  Status saveLease(Duration lease) override;
  Status saveLastContact(Time at) override;
  Result<Maintenance> loadMaintenance() override;
  Status saveMaintenance(const Maintenance& m) override;

 private:
  Result<int64_t> meta(std::string_view key, int64_t missing);
  Status setMeta(std::string_view key, int64_t value);

  Database db_;
};

Result<std::optional<DispatchRecord>> AgentStoreImpl::findDispatch(const JobTag& tag) {
  Result<Statement> st = db_.prepare("SELECT " + std::string(kDispatchColumns) +
                                     " FROM dispatches WHERE job_id = ?1 AND attempt = ?2");
  if (!st.ok()) return st.status();
  st->bindText(1, tag.job_id).bindInt64(2, tag.attempt);
  return oneDispatch(*st);
}

Status AgentStoreImpl::saveDispatch(const DispatchRecord& record) {
  // One statement is one implicit transaction: durable when this returns OK, which is
  // what lets the agent hand the job to the scheduler afterwards.
  Result<Statement> st = db_.prepare(R"sql(
INSERT INTO dispatches (job_id, attempt, spec, accepted, reason, local_id, state,
                        received_at, updated_at, status_seq, started_at, ended_at,
                        local_user, uid, gid, account, partition_name, qos,
                        stdout_path, stderr_path, rule, usage_reported)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
        ?21, ?22)
ON CONFLICT (job_id, attempt) DO UPDATE SET
  spec = excluded.spec, accepted = excluded.accepted, reason = excluded.reason,
  local_id = excluded.local_id, state = excluded.state,
  received_at = excluded.received_at, updated_at = excluded.updated_at,
  status_seq = excluded.status_seq, started_at = excluded.started_at,
  ended_at = excluded.ended_at, local_user = excluded.local_user, uid = excluded.uid,
  gid = excluded.gid, account = excluded.account, partition_name = excluded.partition_name,
  qos = excluded.qos, stdout_path = excluded.stdout_path,
  stderr_path = excluded.stderr_path, rule = excluded.rule,
  usage_reported = excluded.usage_reported)sql");
  if (!st.ok()) return st.status();
  st->bindText(1, record.tag.job_id)
      .bindInt64(2, record.tag.attempt)
      .bindText(3, boost::json::serialize(toJson(record.spec)))
      .bindBool(4, record.accepted)
      .bindText(5, record.reason)
      .bindText(6, record.local_id)
      .bindText(7, jobStateName(record.state))
      .bindInt64(8, toMillis(record.received_at))
      .bindInt64(9, toMillis(record.updated_at))
      .bindInt64(10, static_cast<int64_t>(record.status_seq))
      .bindInt64(11, record.started_at ? std::optional<int64_t>(toMillis(*record.started_at))
                                       : std::nullopt)
      .bindInt64(
          12, record.ended_at ? std::optional<int64_t>(toMillis(*record.ended_at)) : std::nullopt);
  const LocalIdentity& id = record.identity;
  st->bindText(13, id.user)
      .bindInt64(14, id.uid ? std::optional<int64_t>(*id.uid) : std::nullopt)
      .bindInt64(15, id.gid ? std::optional<int64_t>(*id.gid) : std::nullopt)
      .bindText(16, id.account)
      .bindText(17, id.partition)
      .bindText(18, id.qos)
      .bindText(19, record.stdout_path)
      .bindText(20, record.stderr_path)
      .bindText(21, record.rule)
      .bindBool(22, record.usage_reported);
  return st->run();
}

Result<std::vector<DispatchRecord>> AgentStoreImpl::activeDispatches() {
  Result<Statement> st =
      db_.prepare("SELECT " + std::string(kDispatchColumns) +
                  " FROM dispatches WHERE accepted = 1 ORDER BY received_at, job_id, attempt");
  if (!st.ok()) return st.status();
  std::vector<DispatchRecord> out;
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<DispatchRecord> record = readDispatch(*st);
    if (!record.ok()) return record.status();
    if (!isTerminal(record->state)) out.push_back(std::move(*record));
  }
  return out;
}

Result<std::vector<DispatchRecord>> AgentStoreImpl::usageDue(size_t limit) {
  Result<Statement> st = db_.prepare(
      "SELECT " + std::string(kDispatchColumns) +
      " FROM dispatches WHERE usage_reported = 0 AND accepted = 1 ORDER BY updated_at LIMIT ?1");
  if (!st.ok()) return st.status();
  st->bindInt64(1, static_cast<int64_t>(limit));
  std::vector<DispatchRecord> out;
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<DispatchRecord> record = readDispatch(*st);
    if (!record.ok()) return record.status();
    if (isTerminal(record->state)) out.push_back(std::move(*record));
  }
  return out;
}

Result<std::optional<DispatchRecord>> AgentStoreImpl::findByLocalId(const std::string& local_id) {
  // '' means "not yet accepted by the backend"; it names no job.
  if (local_id.empty()) return std::optional<DispatchRecord>();
  // A local id is unique at one scheduler; should a scheduler ever reuse one, the
  // newest dispatch is the one it now means.
  Result<Statement> st = db_.prepare(
      "SELECT " + std::string(kDispatchColumns) +
      " FROM dispatches WHERE local_id = ?1 AND accepted = 1 ORDER BY received_at DESC LIMIT 1");
  if (!st.ok()) return st.status();
  st->bindText(1, local_id);
  return oneDispatch(*st);
}

Status AgentStoreImpl::enqueueOutbox(const OutboxEntry& entry) {
  // Enqueueing an id twice keeps the first entry and its place in the queue.
  Result<Statement> st = db_.prepare(
      "INSERT INTO outbox (msg_id, frame, created_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (msg_id) DO NOTHING");
  if (!st.ok()) return st.status();
  st->bindText(1, entry.msg_id).bindText(2, entry.frame).bindInt64(3, toMillis(entry.created_at));
  return st->run();
}

Status AgentStoreImpl::acknowledgeOutbox(const std::string& msg_id) {
  Result<Statement> st = db_.prepare("DELETE FROM outbox WHERE msg_id = ?1");
  if (!st.ok()) return st.status();
  st->bindText(1, msg_id);
  return st->run();
}

Result<std::vector<OutboxEntry>> AgentStoreImpl::pendingOutbox() {
  Result<Statement> st = db_.prepare("SELECT msg_id, frame, created_at FROM outbox ORDER BY seq");
  if (!st.ok()) return st.status();
  std::vector<OutboxEntry> out;
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(OutboxEntry{.msg_id = st->columnText(0),
                              .frame = st->columnText(1),
                              .created_at = fromMillis(st->columnInt64(2))});
  }
  return out;
}

Result<uint64_t> AgentStoreImpl::outboxDepth() {
  Result<int64_t> n = db_.queryInt64("SELECT COUNT(*) FROM outbox");
  if (!n.ok()) return n.status();
  return static_cast<uint64_t>(std::max<int64_t>(0, *n));
}

Result<uint64_t> AgentStoreImpl::loadEpoch() {
  Result<int64_t> epoch =
      db_.queryInt64("SELECT COALESCE((SELECT value FROM meta WHERE key = 'epoch'), 0)");
  if (!epoch.ok()) return epoch.status();
  return static_cast<uint64_t>(*epoch);
}

Status AgentStoreImpl::saveEpoch(uint64_t epoch) {
  // Stored as SQLite's signed 64-bit integer; an epoch past 2^63 would need 292 million
  // years of one report per millisecond.
  if (epoch > static_cast<uint64_t>(INT64_MAX)) {
    return invalidArgument("epoch " + std::to_string(epoch) + " does not fit the store", "epoch");
  }
  // max(): a late or repeated save never moves the epoch backwards, which would make the
  // coordinator discard every report after a restart as stale.
  Result<Statement> st = db_.prepare(
      "INSERT INTO meta (key, value) VALUES ('epoch', ?1) "
      "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)");
  if (!st.ok()) return st.status();
  st->bindInt64(1, static_cast<int64_t>(epoch));
  return st->run();
}

Result<int64_t> AgentStoreImpl::meta(std::string_view key, int64_t missing) {
  Result<Statement> st = db_.prepare("SELECT value FROM meta WHERE key = ?1");
  if (!st.ok()) return st.status();
  st->bindText(1, std::string(key));
  Result<bool> row = st->step();
  if (!row.ok()) return row.status();
  return *row ? st->columnInt64(0) : missing;
}

Status AgentStoreImpl::setMeta(std::string_view key, int64_t value) {
  Result<Statement> st = db_.prepare(
      "INSERT INTO meta (key, value) VALUES (?1, ?2) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  if (!st.ok()) return st.status();
  st->bindText(1, std::string(key)).bindInt64(2, value);
  return st->run();
}

Result<uint64_t> AgentStoreImpl::startIncarnation() {
  Result<int64_t> last = meta("incarnation", 0);
  if (!last.ok()) return last.status();
  if (Status s = setMeta("incarnation", *last + 1); !s.ok()) return s;
  return static_cast<uint64_t>(*last + 1);
}

Result<AgentStore::LeaseState> AgentStoreImpl::loadLease() {
  Result<int64_t> lease = meta("job_lease_ms", 0);
  if (!lease.ok()) return lease.status();
  Result<int64_t> contact = meta("last_contact_ms", -1);
  if (!contact.ok()) return contact.status();
  LeaseState out;
  out.lease = Duration(std::max<int64_t>(0, *lease));
  if (*contact >= 0) out.last_contact = fromMillis(*contact);
  return out;
}

Status AgentStoreImpl::saveLease(Duration lease) {
  return setMeta("job_lease_ms", lease.count());
}

Status AgentStoreImpl::saveLastContact(Time at) {
  return setMeta("last_contact_ms", toMillis(at));
}

Result<Maintenance> AgentStoreImpl::loadMaintenance() {
  Maintenance m;
  Result<int64_t> grace = meta("maintenance_grace_ms", 0);
  if (!grace.ok()) return grace.status();
  m.grace = Duration(std::max<int64_t>(0, *grace));
  Result<Statement> st = db_.prepare(
      "SELECT id, start_at, end_at, reason, declared_by FROM maintenance_windows ORDER BY start_at, "
      "id");
  if (!st.ok()) return st.status();
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    m.windows.push_back({st->columnText(0), fromMillis(st->columnInt64(1)),
                         fromMillis(st->columnInt64(2)), st->columnText(3), st->columnText(4)});
  }
  return m;
}

Status AgentStoreImpl::saveMaintenance(const Maintenance& m) {
  // The whole list or nothing: a window half-replaced could stop the lease's pause early.
  Result<Transaction> tx = Transaction::begin(db_);
  if (!tx.ok()) return tx.status();
  if (Status s = db_.exec("DELETE FROM maintenance_windows"); !s.ok()) return s;
  Result<Statement> st = db_.prepare(
      "INSERT INTO maintenance_windows (id, start_at, end_at, reason, declared_by) "
      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING");
  if (!st.ok()) return st.status();
  for (const MaintenanceWindow& w : m.windows) {
    st->reset();
    st->bindText(1, w.id)
        .bindInt64(2, toMillis(w.start))
        .bindInt64(3, toMillis(w.end))
        .bindText(4, w.reason)
        .bindText(5, w.declared_by);
    if (Status s = st->run(); !s.ok()) return s;
  }
  if (Status s = setMeta("maintenance_grace_ms", m.grace.count()); !s.ok()) return s;
  return tx->commit();
}

}  // namespace

// For the read-only look of `aifed-agent --check` (agent_check.cpp).
int32_t agentStoreApplicationId() {
  return kApplicationId;
}
int currentAgentStoreSchema() {
  return static_cast<int>(std::size(kMigrations));
}

Result<std::unique_ptr<AgentStore>> AgentStore::open(const std::string& path) {
  Result<Database> db = Database::open(path, {.application_id = kApplicationId,
                                              .application_name = "aifed agent",
                                              .migrations = kMigrations});
  if (!db.ok()) return db.status();
  return std::unique_ptr<AgentStore>(std::make_unique<AgentStoreImpl>(std::move(*db)));
}

}  // namespace aifed::agent
