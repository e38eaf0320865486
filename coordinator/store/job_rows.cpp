// Jobs and sites, and the next job sequence number (coordinator_store_impl.h).
#include <algorithm>

#include "coordinator/store/coordinator_store_impl.h"
#include "protocol/codec.h"

namespace aifed::store::internal {
namespace {

using broker::SiteUsage;

boost::json::object siteUsageJson(const SiteUsage& u) {
  return {{"source", u.source},
          {"elapsed_s", std::chrono::duration<double>(u.elapsed).count()},
          {"nodes", u.nodes},
          {"gpus", u.gpus},
          {"tres", u.tres},
          {"state", u.state}};
}

Result<SiteUsage> siteUsageFromJson(const boost::json::value& v) {
  const boost::json::object* o = v.if_object();
  if (!o) return internalError("not an object");
  SiteUsage u;
  try {
    u.source = boost::json::value_to<std::string>(o->at("source"));
    u.elapsed = std::chrono::milliseconds(
        static_cast<int64_t>(boost::json::value_to<double>(o->at("elapsed_s")) * 1000));
    u.nodes = boost::json::value_to<int>(o->at("nodes"));
    u.gpus = boost::json::value_to<int>(o->at("gpus"));
    u.tres = boost::json::value_to<std::string>(o->at("tres"));
    u.state = boost::json::value_to<std::string>(o->at("state"));
  } catch (const std::exception& e) {
    return internalError(e.what());
  }
  return u;
}

}  // namespace

Status CoordinatorStoreImpl::saveJobs(const std::vector<JobRecord>& jobs) {
  if (jobs.empty()) return Status::Ok();
  Result<Statement> st = db_.prepare(R"sql(
INSERT INTO jobs (id, seq, state, site, attempt, local_id, reason, cancel_requested,
                  excluded_sites, spec, submitted_at, updated_at, dispatched_at,
                  last_sent_at, started_at, ended_at, exit_code, withdrawing, status_seq,
                  local_user, account, stdout_path, stderr_path, site_usage, array_id,
                  array_index)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
        ?20, ?21, ?22, ?23, ?24, ?25, ?26)
ON CONFLICT (id) DO UPDATE SET
  state = excluded.state, site = excluded.site, attempt = excluded.attempt,
  local_id = excluded.local_id, reason = excluded.reason,
  cancel_requested = excluded.cancel_requested, excluded_sites = excluded.excluded_sites,
  spec = excluded.spec, submitted_at = excluded.submitted_at,
  updated_at = excluded.updated_at, dispatched_at = excluded.dispatched_at,
  last_sent_at = excluded.last_sent_at, started_at = excluded.started_at,
  ended_at = excluded.ended_at, exit_code = excluded.exit_code,
  withdrawing = excluded.withdrawing, status_seq = excluded.status_seq,
  local_user = excluded.local_user, account = excluded.account,
  stdout_path = excluded.stdout_path, stderr_path = excluded.stderr_path,
  site_usage = excluded.site_usage, array_id = excluded.array_id,
  array_index = excluded.array_index)sql");
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
        .bindBool(18, job.withdrawing)
        .bindInt64(19, static_cast<int64_t>(job.status_seq))
        .bindText(20, job.at_site.local_user)
        .bindText(21, job.at_site.account)
        .bindText(22, job.at_site.stdout_path)
        .bindText(23, job.at_site.stderr_path)
        .bindText(24, job.at_site.usage ? boost::json::serialize(siteUsageJson(*job.at_site.usage))
                                        : std::string())
        .bindText(25, job.array_id)
        .bindInt64(26, job.array_index);
    if (Status s = st->run(); !s.ok()) return s;
  }
  return Status::Ok();
}

Status CoordinatorStoreImpl::saveSites(const std::vector<SiteRecord>& sites) {
  if (sites.empty()) return Status::Ok();
  Result<Statement> st = db_.prepare(R"sql(
INSERT INTO sites (id, state, drained, capacity, degraded, degraded_reason, last_heard,
                   last_report, unreachable_since, agent_version, jobs_placed, drain_reason,
                   drained_by, drained_at, maintenance, maintenance_retired)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
ON CONFLICT (id) DO UPDATE SET
  drain_reason = excluded.drain_reason, drained_by = excluded.drained_by,
  drained_at = excluded.drained_at, maintenance = excluded.maintenance,
  maintenance_retired = excluded.maintenance_retired,
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
        .bindInt64(11, site.jobs_placed)
        .bindText(12, site.drain_reason)
        .bindText(13, site.drained_by)
        .bindInt64(14, optionalMillis(site.drained_at))
        .bindText(15, windowsJson(site.maintenance))
        .bindText(16, windowsJson(site.maintenance_retired));
    if (Status s = st->run(); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<std::vector<JobRecord>> CoordinatorStoreImpl::loadJobs() {
  Result<Statement> st = db_.prepare(R"sql(
SELECT id, state, site, attempt, local_id, reason, cancel_requested, excluded_sites, spec,
       submitted_at, updated_at, dispatched_at, last_sent_at, started_at, ended_at, exit_code,
       withdrawing, status_seq, local_user, account, stdout_path, stderr_path, site_usage,
       array_id, array_index
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
    job.status_seq = static_cast<uint64_t>(std::max<int64_t>(0, st->columnInt64(17)));
    job.at_site = {st->columnText(18), st->columnText(19), st->columnText(20), st->columnText(21),
                   std::nullopt};
    if (std::string usage = st->columnText(22); !usage.empty()) {
      Result<boost::json::value> u = parseJson(usage, where);
      if (!u.ok()) return u.status();
      Result<SiteUsage> parsed = siteUsageFromJson(*u);
      if (!parsed.ok()) return internalError(where + ": site_usage: " + parsed.status().message());
      job.at_site.usage = std::move(*parsed);
    }
    job.array_id = st->columnText(23);
    job.array_index = st->columnInt64(24);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

Result<std::vector<SiteRecord>> CoordinatorStoreImpl::loadSites() {
  Result<Statement> st = db_.prepare(R"sql(
SELECT id, state, drained, capacity, degraded, degraded_reason, last_heard, last_report,
       unreachable_since, agent_version, jobs_placed, drain_reason, drained_by, drained_at,
       maintenance, maintenance_retired
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
    site.drain_reason = st->columnText(11);
    site.drained_by = st->columnText(12);
    site.drained_at = optionalTime(*st, 13);
    Result<std::vector<MaintenanceWindow>> windows = windowsFromJson(st->columnText(14), where);
    if (!windows.ok()) return windows.status();
    site.maintenance = std::move(*windows);
    windows = windowsFromJson(st->columnText(15), where);
    if (!windows.ok()) return windows.status();
    site.maintenance_retired = std::move(*windows);
    sites.push_back(std::move(site));
  }
  return sites;
}

Result<int64_t> CoordinatorStoreImpl::nextJobSeq() {
  // Quarantined attempts carry ids an earlier life of the federation handed out.
  return db_.queryInt64(R"sql(
SELECT MAX(COALESCE((SELECT MAX(seq) FROM jobs), 0),
           COALESCE((SELECT MAX(CAST(substr(job_id, 3) AS INTEGER)) FROM quarantine
                     WHERE job_id GLOB 'j-[1-9]*' AND length(job_id) <= 20), 0)) + 1)sql");
}

}  // namespace aifed::store::internal
