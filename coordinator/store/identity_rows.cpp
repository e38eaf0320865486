// API tokens and the audit log (coordinator_store_impl.h).
#include "coordinator/store/coordinator_store_impl.h"

namespace aifed::store::internal {

Status CoordinatorStoreImpl::saveAudit(const std::vector<identity::AuditRecord>& rows) {
  if (rows.empty()) return Status::Ok();
  Result<Statement> st = db_.prepare(R"sql(
INSERT INTO audit_log (at, actor, actor_name, role, action, target, remote_address, outcome,
                       detail, on_behalf_of)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10))sql");
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
        .bindText(9, a.detail)
        .bindText(10, a.on_behalf_of);
    if (Status s = st->run(); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<std::vector<identity::AuditRecord>> CoordinatorStoreImpl::audit(const AuditQuery& q) {
  // An action ending in '.' is a prefix: "job." matches job.submit and job.cancel.
  bool prefix = !q.action.empty() && q.action.back() == '.';
  Result<Statement> st = db_.prepare(R"sql(
SELECT id, at, actor, actor_name, role, action, target, remote_address, outcome, detail,
       on_behalf_of
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
    a.on_behalf_of = st->columnText(10);
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
                    last_used_at, user)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (id) DO UPDATE SET
  name = excluded.name, user = excluded.user, role = excluded.role, scope = excluded.scope,
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
      .bindInt64(9, optionalMillis(t.last_used_at))
      .bindText(10, t.user);
  if (Status s = st->run(); !s.ok()) return s;
  return tx->commit();
}

Result<std::vector<identity::TokenRecord>> CoordinatorStoreImpl::loadTokens() {
  Result<Statement> st = db_.prepare(R"sql(
SELECT id, name, role, scope, secret_sha256, created_at, created_by, revoked_at, last_used_at,
       user
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
    t.user = st->columnText(9);
  }
  return out;
}

}  // namespace aifed::store::internal
