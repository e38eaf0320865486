// Placement decisions, their verdicts and score terms, and policy switches.
#include "coordinator/store/coordinator_store_impl.h"

#include "protocol/codec.h"

namespace aifed::store::internal {

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

}  // namespace aifed::store::internal
