// Job arrays (schema 11): one row per array; the tasks are rows of `jobs` naming it
// (array_id, array_index). The next array id is a counter that is never lowered, so an
// id stays used even if its array's row were lost.
#include "coordinator/broker/job_arrays.h"
#include "coordinator/store/coordinator_store_impl.h"

namespace aifed::store::internal {

Status CoordinatorStoreImpl::saveArrays(const std::vector<broker::ArrayRecord>& arrays,
                                        std::optional<int64_t> next) {
  if (!arrays.empty()) {
    Result<Statement> st = db_.prepare(R"sql(
INSERT INTO arrays (id, seq, name, project, user, submitted_at, indices, max_running, tasks)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, project = excluded.project,
  user = excluded.user, submitted_at = excluded.submitted_at, indices = excluded.indices,
  max_running = excluded.max_running, tasks = excluded.tasks)sql");
    if (!st.ok()) return st.status();
    for (const broker::ArrayRecord& a : arrays) {
      std::optional<int64_t> seq = broker::parseArraySeq(a.id);
      if (!seq) return invalidArgument("array id \"" + a.id + "\" is not of the form a-<n>", "array.id");
      st->reset();
      st->bindText(1, a.id)
          .bindInt64(2, *seq)
          .bindText(3, a.name)
          .bindText(4, a.project)
          .bindText(5, a.user)
          .bindInt64(6, toMillis(a.submitted_at))
          .bindText(7, a.indices)
          .bindInt64(8, a.max_running)
          .bindInt64(9, a.tasks);
      if (Status s = st->run(); !s.ok()) return s;
    }
  }
  if (!next) return Status::Ok();
  Result<Statement> st = db_.prepare(R"sql(
INSERT INTO counters (name, value) VALUES ('next_array_seq', ?1)
ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value))sql");
  if (!st.ok()) return st.status();
  st->bindInt64(1, *next);
  return st->run();
}

Result<std::vector<broker::ArrayRecord>> CoordinatorStoreImpl::loadArrays() {
  Result<Statement> st = db_.prepare(R"sql(
SELECT id, name, project, user, submitted_at, indices, max_running, tasks
FROM arrays ORDER BY seq)sql");
  if (!st.ok()) return st.status();
  std::vector<broker::ArrayRecord> out;
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    broker::ArrayRecord a;
    a.id = st->columnText(0);
    a.name = st->columnText(1);
    a.project = st->columnText(2);
    a.user = st->columnText(3);
    a.submitted_at = fromMillis(st->columnInt64(4));
    a.indices = st->columnText(5);
    a.max_running = static_cast<int>(st->columnInt64(6));
    a.tasks = static_cast<int>(st->columnInt64(7));
    out.push_back(std::move(a));
  }
  return out;
}

Result<int64_t> CoordinatorStoreImpl::nextArraySeq() {
  // The counter, and above every stored array should the counter have been lost.
  return db_.queryInt64(R"sql(
SELECT MAX(COALESCE((SELECT value FROM counters WHERE name = 'next_array_seq'), 1),
           COALESCE((SELECT MAX(seq) FROM arrays), 0) + 1))sql");
}

}  // namespace aifed::store::internal
