// The console's history: site samples and site events (coordinator_store_impl.h).
#include "coordinator/store/coordinator_store_impl.h"

namespace aifed::store::internal {

Status CoordinatorStoreImpl::saveSamples(const std::vector<HistorySample>& samples) {
  if (samples.empty()) return Status::Ok();
  Result<Statement> st = db_.prepare(R"sql(
INSERT OR REPLACE INTO site_samples
  (site, t, state, accelerators_total, accelerators_used, accelerators_free, nodes_total,
   nodes_idle, pending_jobs, pending_node_hours, running_jobs, stale)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12))sql");
  if (!st.ok()) return st.status();
  for (const HistorySample& s : samples) {
    st->reset();
    st->bindText(1, s.site)
        .bindInt64(2, toMillis(s.t))
        .bindText(3, s.state)
        .bindInt64(4, s.accelerators_total)
        .bindInt64(5, s.accelerators_used)
        .bindInt64(6, s.accelerators_free)
        .bindInt64(7, s.nodes_total)
        .bindInt64(8, s.nodes_idle)
        .bindInt64(9, s.pending_jobs)
        .bindDouble(10, s.pending_node_hours)
        .bindInt64(11, s.running_jobs)
        .bindBool(12, s.stale);
    if (Status status = st->run(); !status.ok()) return status;
  }
  return Status::Ok();
}

Status CoordinatorStoreImpl::saveSiteEvents(const std::vector<SiteEvent>& events) {
  if (events.empty()) return Status::Ok();
  Result<Statement> st = db_.prepare(R"sql(
INSERT INTO site_events (site, t, from_state, to_state, reason, actor)
VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql");
  if (!st.ok()) return st.status();
  for (const SiteEvent& e : events) {
    st->reset();
    st->bindText(1, e.site)
        .bindInt64(2, toMillis(e.t))
        .bindText(3, e.from)
        .bindText(4, e.to)
        .bindText(5, e.reason)
        .bindText(6, e.actor);
    if (Status s = st->run(); !s.ok()) return s;
  }
  return Status::Ok();
}

Status CoordinatorStoreImpl::saveHistory(const std::vector<HistorySample>& samples,
                                         const std::vector<SiteEvent>& events, Time prune_before) {
  Result<Transaction> tx = Transaction::begin(db_);
  if (!tx.ok()) return tx.status();
  RETURN_IF_ERROR(saveSamples(samples));
  RETURN_IF_ERROR(saveSiteEvents(events));
  // Both indexed by t: a prune deletes one interval's rows, a few per site.
  for (const char* sql : {"DELETE FROM site_samples WHERE t < ?1",
                          "DELETE FROM site_events WHERE t < ?1"}) {
    Result<Statement> st = db_.prepare(sql);
    if (!st.ok()) return st.status();
    st->bindInt64(1, toMillis(prune_before));
    RETURN_IF_ERROR(st->run());
  }
  return tx->commit();
}

Result<std::vector<HistorySample>> CoordinatorStoreImpl::siteHistory(const std::string& site,
                                                                     Time since, Time until) {
  Result<Statement> st = db_.prepare(R"sql(
SELECT t, state, accelerators_total, accelerators_used, accelerators_free, nodes_total,
       nodes_idle, pending_jobs, pending_node_hours, running_jobs, stale
FROM site_samples WHERE site = ?1 AND t BETWEEN ?2 AND ?3 ORDER BY t)sql");
  if (!st.ok()) return st.status();
  st->bindText(1, site).bindInt64(2, toMillis(since)).bindInt64(3, toMillis(until));
  std::vector<HistorySample> out;
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    HistorySample& s = out.emplace_back();
    s.site = site;
    s.t = fromMillis(st->columnInt64(0));
    s.state = st->columnText(1);
    s.accelerators_total = st->columnInt64(2);
    s.accelerators_used = st->columnInt64(3);
    s.accelerators_free = st->columnInt64(4);
    s.nodes_total = st->columnInt64(5);
    s.nodes_idle = st->columnInt64(6);
    s.pending_jobs = st->columnInt64(7);
    s.pending_node_hours = st->columnDouble(8);
    s.running_jobs = st->columnInt64(9);
    s.stale = st->columnBool(10);
  }
  return out;
}

Result<std::vector<FederationSample>> CoordinatorStoreImpl::federationHistory(Time since,
                                                                              Time until) {
  // A stale site's figures are its last report's, not the present: counted as a site,
  // left out of the sums.
  Result<Statement> st = db_.prepare(R"sql(
SELECT t, COUNT(*), SUM(state IN ('up', 'draining', 'maintenance')), SUM(stale),
       SUM(CASE WHEN stale THEN 0 ELSE accelerators_total END),
       SUM(CASE WHEN stale THEN 0 ELSE accelerators_used END),
       SUM(CASE WHEN stale THEN 0 ELSE accelerators_free END),
       SUM(CASE WHEN stale THEN 0 ELSE nodes_total END),
       SUM(CASE WHEN stale THEN 0 ELSE nodes_idle END),
       SUM(CASE WHEN stale THEN 0 ELSE pending_jobs END),
       SUM(CASE WHEN stale THEN 0 ELSE pending_node_hours END),
       SUM(CASE WHEN stale THEN 0 ELSE running_jobs END)
FROM site_samples WHERE t BETWEEN ?1 AND ?2 GROUP BY t ORDER BY t)sql");
  if (!st.ok()) return st.status();
  st->bindInt64(1, toMillis(since)).bindInt64(2, toMillis(until));
  std::vector<FederationSample> out;
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    FederationSample& f = out.emplace_back();
    f.t = fromMillis(st->columnInt64(0));
    f.sites = st->columnInt64(1);
    f.sites_up = st->columnInt64(2);
    f.sites_stale = st->columnInt64(3);
    f.accelerators_total = st->columnInt64(4);
    f.accelerators_used = st->columnInt64(5);
    f.accelerators_free = st->columnInt64(6);
    f.nodes_total = st->columnInt64(7);
    f.nodes_idle = st->columnInt64(8);
    f.pending_jobs = st->columnInt64(9);
    f.pending_node_hours = st->columnDouble(10);
    f.running_jobs = st->columnInt64(11);
  }
  return out;
}

Result<std::vector<SiteEvent>> CoordinatorStoreImpl::siteEvents(const std::string& site,
                                                                size_t limit) {
  Result<Statement> st = db_.prepare(R"sql(
SELECT id, t, from_state, to_state, reason, actor FROM site_events
WHERE site = ?1 ORDER BY t DESC, id DESC LIMIT ?2)sql");
  if (!st.ok()) return st.status();
  st->bindText(1, site).bindInt64(2, static_cast<int64_t>(limit));
  std::vector<SiteEvent> out;
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    SiteEvent& e = out.emplace_back();
    e.id = st->columnInt64(0);
    e.t = fromMillis(st->columnInt64(1));
    e.site = site;
    e.from = st->columnText(2);
    e.to = st->columnText(3);
    e.reason = st->columnText(4);
    e.actor = st->columnText(5);
  }
  return out;
}

}  // namespace aifed::store::internal
