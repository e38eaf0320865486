// Quarantined attempts and the federation this database belongs to
// (coordinator_store_impl.h).
#include "coordinator/store/coordinator_store_impl.h"

#include "coordinator/identity/tokens.h"

namespace aifed::store::internal {

Status CoordinatorStoreImpl::saveQuarantined(const std::vector<broker::QuarantinedJob>& entries) {
  if (entries.empty()) return Status::Ok();
  Result<Statement> st = db_.prepare(R"sql(
INSERT INTO quarantine (site, job_id, attempt, local_id, state, first_seen, last_seen, decision,
                        decided_by, decided_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (site, job_id, attempt) DO UPDATE SET
  local_id = excluded.local_id, state = excluded.state, last_seen = excluded.last_seen,
  decision = excluded.decision, decided_by = excluded.decided_by,
  decided_at = excluded.decided_at)sql");
  if (!st.ok()) return st.status();
  for (const broker::QuarantinedJob& q : entries) {
    st->reset();
    st->bindText(1, q.site)
        .bindText(2, q.job_id)
        .bindInt64(3, q.attempt)
        .bindText(4, q.local_id)
        .bindText(5, jobStateName(q.state))
        .bindInt64(6, toMillis(q.first_seen))
        .bindInt64(7, toMillis(q.last_seen))
        .bindText(8, q.decision)
        .bindText(9, q.decided_by)
        .bindInt64(10, optionalMillis(q.decided_at));
    if (Status s = st->run(); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<std::vector<broker::QuarantinedJob>> CoordinatorStoreImpl::loadQuarantined() {
  Result<Statement> st = db_.prepare(R"sql(
SELECT site, job_id, attempt, local_id, state, first_seen, last_seen, decision, decided_by,
       decided_at
FROM quarantine ORDER BY site, job_id, attempt)sql");
  if (!st.ok()) return st.status();
  std::vector<broker::QuarantinedJob> out;
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    broker::QuarantinedJob& q = out.emplace_back();
    q.site = st->columnText(0);
    q.job_id = st->columnText(1);
    q.attempt = static_cast<int>(st->columnInt64(2));
    q.local_id = st->columnText(3);
    std::optional<JobState> state = parseJobState(st->columnText(4));
    if (!state) return internalError("quarantined " + q.job_id + ": unknown state");
    q.state = *state;
    q.first_seen = fromMillis(st->columnInt64(5));
    q.last_seen = fromMillis(st->columnInt64(6));
    q.decision = st->columnText(7);
    q.decided_by = st->columnText(8);
    q.decided_at = optionalTime(*st, 9);
  }
  return out;
}

Result<std::optional<FederationIdentity>> CoordinatorStoreImpl::federationIdentity() {
  Result<Statement> st = db_.prepare("SELECT key, value FROM federation");
  if (!st.ok()) return st.status();
  FederationIdentity id;
  bool any = false;
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    any = true;
    std::string key = st->columnText(0);
    if (key == "id") id.id = st->columnText(1);
    if (key == "name") id.name = st->columnText(1);
    if (key == "created_at") id.created_at = fromMillis(std::stoll(st->columnText(1)));
  }
  if (!any) return std::optional<FederationIdentity>();
  if (id.id.empty()) return internalError("the federation table has no id");
  return std::optional<FederationIdentity>(std::move(id));
}

Result<FederationIdentity> CoordinatorStoreImpl::initialise(const std::string& name, Time now) {
  Result<std::optional<FederationIdentity>> existing = federationIdentity();
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    return failedPrecondition("the database belongs to federation \"" + (*existing)->name +
                              "\" already (id " + (*existing)->id + ")");
  }
  Result<std::string> random = identity::randomHex(16);
  if (!random.ok()) return random.status();
  FederationIdentity id{*random, name, now};
  Result<Transaction> tx = Transaction::begin(db_);
  if (!tx.ok()) return tx.status();
  Result<Statement> st = db_.prepare("INSERT INTO federation (key, value) VALUES (?1, ?2)");
  if (!st.ok()) return st.status();
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"id", id.id},
                                   {"name", id.name},
                                   {"created_at", std::to_string(toMillis(now))}}) {
    st->reset();
    st->bindText(1, key).bindText(2, value);
    if (Status s = st->run(); !s.ok()) return s;
  }
  if (Status s = tx->commit(); !s.ok()) return s;
  return id;
}

Status CoordinatorStoreImpl::probeWrite(Time now) {
  Result<Statement> st = db_.prepare(
      "INSERT INTO federation (key, value) VALUES ('write_probe', ?1) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  if (!st.ok()) return st.status();
  st->bindText(1, std::to_string(toMillis(now)));
  return st->run();
}

Result<bool> CoordinatorStoreImpl::holdsRecords() {
  Result<int64_t> n = db_.queryInt64(
      "SELECT (SELECT COUNT(*) FROM jobs) + (SELECT COUNT(*) FROM sites) + "
      "(SELECT COUNT(*) FROM tokens) + (SELECT COUNT(*) FROM decisions)");
  if (!n.ok()) return n.status();
  return *n > 0;
}

}  // namespace aifed::store::internal
