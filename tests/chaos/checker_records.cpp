// The checker's reading half: the coordinator's and the agents' SQLite files, opened
// read-only with the plain C API (the stores' own code would migrate them), and Slurm's
// job list. Columns are looked up by name, so the checker reads every schema version
// and says what a version lacks instead of failing.
#include <sqlite3.h>

#include <boost/json.hpp>
#include <filesystem>
#include <memory>

#include "site-agent/backends/slurm_backend.h"
#include "tests/chaos/checker.h"

namespace aifed::chaos {
namespace {

namespace fs = std::filesystem;

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using DbHandle = std::unique_ptr<sqlite3, CloseDb>;
struct FinalizeStmt {
  void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};
using StmtHandle = std::unique_ptr<sqlite3_stmt, FinalizeStmt>;

Result<DbHandle> openReadOnly(const std::string& path) {
  if (!fs::exists(path)) return notFound(path + ": no such database");
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK) {
    return unavailable(path + ": cannot open read-only: " + sqlite3_errstr(rc));
  }
  sqlite3_busy_timeout(db.get(), 5000);
  return db;
}

Result<StmtHandle> prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return internalError("cannot prepare \"" + sql + "\": " + sqlite3_errmsg(db));
  }
  return StmtHandle(raw);
}

std::set<std::string> columnsOf(sqlite3* db, const std::string& table) {
  std::set<std::string> out;
  Result<StmtHandle> st = prepare(db, "PRAGMA table_info(" + table + ")");
  if (!st.ok()) return out;
  while (sqlite3_step(st->get()) == SQLITE_ROW) {
    out.insert(reinterpret_cast<const char*>(sqlite3_column_text(st->get(), 1)));
  }
  return out;
}

std::string text(sqlite3_stmt* st, int column) {
  const unsigned char* t = sqlite3_column_text(st, column);
  return t ? reinterpret_cast<const char*>(t) : "";
}

std::optional<Time> optionalTime(sqlite3_stmt* st, int column) {
  if (sqlite3_column_type(st, column) == SQLITE_NULL) return std::nullopt;
  return fromMillis(sqlite3_column_int64(st, column));
}

std::string specName(const std::string& spec_json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(spec_json, ec);
  if (ec || !v.is_object()) return "";
  const boost::json::value* name = v.as_object().if_contains("name");
  return name && name->is_string() ? std::string(name->as_string()) : "";
}

// Runs `sql` and hands each row to `row`; an error names the database.
template <typename RowFn>
Status eachRow(sqlite3* db, const std::string& path, const std::string& sql, RowFn row) {
  Result<StmtHandle> st = prepare(db, sql);
  if (!st.ok()) return internalError(path + ": " + st.status().message());
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) row(st->get());
  if (rc != SQLITE_DONE) return unavailable(path + ": " + sqlite3_errmsg(db));
  return Status::Ok();
}

Status readCoordinator(const std::string& path, Records& records) {
  ASSIGN_OR_RETURN(DbHandle db, openReadOnly(path));
  if (columnsOf(db.get(), "jobs").empty()) {
    return failedPrecondition(path + ": no jobs table (an empty or foreign database)");
  }
  RETURN_IF_ERROR(eachRow(db.get(), path,
                          "SELECT id, spec, state, site, attempt, started_at, ended_at FROM jobs",
                          [&](sqlite3_stmt* st) {
                            CoordinatorJob j;
                            j.id = text(st, 0);
                            j.name = specName(text(st, 1));
                            j.state = text(st, 2);
                            j.site = text(st, 3);
                            j.attempt = sqlite3_column_int(st, 4);
                            j.started_at = optionalTime(st, 5);
                            j.ended_at = optionalTime(st, 6);
                            records.jobs.push_back(std::move(j));
                          }));
  // The quarantine, under whatever name the schema gives it.
  std::string table;
  RETURN_IF_ERROR(eachRow(db.get(), path,
                          "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE "
                          "'%quarantin%' ORDER BY name LIMIT 1",
                          [&](sqlite3_stmt* st) { table = text(st, 0); }));
  if (table.empty()) return Status::Ok();
  std::set<std::string> cols = columnsOf(db.get(), table);
  if (!cols.count("job_id") || !cols.count("attempt") || !cols.count("site")) return Status::Ok();
  records.quarantine_table = true;
  return eachRow(db.get(), path, "SELECT site, job_id, attempt FROM " + table,
                 [&](sqlite3_stmt* st) {
                   records.quarantine.push_back({text(st, 0), text(st, 1), sqlite3_column_int(st, 2)});
                 });
}

Status readAgent(const std::string& site, const std::string& path, Records& records,
                 bool& run_times) {
  ASSIGN_OR_RETURN(DbHandle db, openReadOnly(path));
  std::set<std::string> cols = columnsOf(db.get(), "dispatches");
  if (cols.empty()) return failedPrecondition(path + ": no dispatches table");
  bool has_times = cols.count("started_at") && cols.count("ended_at");
  run_times = run_times && has_times;
  std::string sql =
      "SELECT job_id, attempt, spec, accepted, state, received_at, updated_at" +
      std::string(has_times ? ", started_at, ended_at" : "") + " FROM dispatches";
  return eachRow(db.get(), path, sql, [&](sqlite3_stmt* st) {
    AgentAttempt a;
    a.site = site;
    a.job_id = text(st, 0);
    a.attempt = sqlite3_column_int(st, 1);
    a.name = specName(text(st, 2));
    a.accepted = sqlite3_column_int(st, 3) != 0;
    a.state = text(st, 4);
    a.received_at = fromMillis(sqlite3_column_int64(st, 5));
    a.updated_at = fromMillis(sqlite3_column_int64(st, 6));
    if (has_times) {
      a.started_at = optionalTime(st, 7);
      a.ended_at = optionalTime(st, 8);
    }
    records.attempts.push_back(std::move(a));
  });
}

}  // namespace

Result<Records> readRecords(const CheckInput& input) {
  Records records;
  RETURN_IF_ERROR(readCoordinator(input.coordinator_db, records));
  records.attempt_run_times = true;
  for (const auto& [site, path] : input.agent_dbs) {
    RETURN_IF_ERROR(readAgent(site, path, records, records.attempt_run_times));
  }
  records.backend = input.backend_jobs;
  return records;
}

Result<std::vector<BackendJob>> slurmBackendJobs(const std::string& squeue_json,
                                                 const std::string& tag_prefix,
                                                 const std::string& site) {
  ASSIGN_OR_RETURN(std::vector<agent::SlurmBackend::SlurmJob> jobs,
                   agent::SlurmBackend::parseSqueue(squeue_json));
  std::vector<BackendJob> out;
  const std::string prefix = tag_prefix + ":";
  for (const auto& j : jobs) {
    if (j.refused || j.comment.rfind(prefix, 0) != 0) continue;
    size_t last = j.comment.rfind(':');
    if (last == std::string::npos || last < prefix.size()) continue;
    BackendJob b;
    b.site = site;
    b.job_id = j.comment.substr(prefix.size(), last - prefix.size());
    b.attempt = std::atoi(j.comment.c_str() + last + 1);
    b.local_id = j.id;
    b.state = j.state;
    if (j.start_time > 0) b.started_at = Time(std::chrono::seconds(j.start_time));
    if (j.end_time > 0) b.ended_at = Time(std::chrono::seconds(j.end_time));
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace aifed::chaos
