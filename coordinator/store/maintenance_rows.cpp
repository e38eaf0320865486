// Maintenance windows in the sites table and the window counter (coordinator_store_impl.h).
#include "coordinator/store/coordinator_store_impl.h"

namespace aifed::store::internal {
namespace json = boost::json;

std::string windowsJson(const std::vector<MaintenanceWindow>& windows) {
  json::array out;
  for (const MaintenanceWindow& w : windows) {
    out.push_back(json::object{{"id", w.id},
                               {"start_at", toMillis(w.start)},
                               {"end_at", toMillis(w.end)},
                               {"reason", w.reason},
                               {"declared_by", w.declared_by}});
  }
  return json::serialize(out);
}

Result<std::vector<MaintenanceWindow>> windowsFromJson(const std::string& text,
                                                       const std::string& where) {
  Result<json::value> parsed = parseJson(text, where);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_array()) return internalError(where + ": maintenance is not a JSON array");
  std::vector<MaintenanceWindow> windows;
  for (const json::value& v : parsed->as_array()) {
    const json::object* o = v.if_object();
    const json::value* id = o ? o->if_contains("id") : nullptr;
    const json::value* start = o ? o->if_contains("start_at") : nullptr;
    const json::value* end = o ? o->if_contains("end_at") : nullptr;
    const json::value* reason = o ? o->if_contains("reason") : nullptr;
    const json::value* by = o ? o->if_contains("declared_by") : nullptr;
    if (!id || !id->is_string() || !start || !start->is_int64() || !end || !end->is_int64() ||
        !reason || !reason->is_string() || !by || !by->is_string()) {
      return internalError(where + ": a stored maintenance window is unreadable");
    }
    windows.push_back({std::string(id->get_string()), fromMillis(start->get_int64()),
                       fromMillis(end->get_int64()), std::string(reason->get_string()),
                       std::string(by->get_string())});
  }
  return windows;
}

Status CoordinatorStoreImpl::saveWindowSeq(std::optional<int64_t> next) {
  if (!next) return Status::Ok();
  // Never lowered: a batch may carry an older value than one already written.
  Result<Statement> st = db_.prepare(R"sql(
INSERT INTO counters (name, value) VALUES ('next_window_seq', ?1)
ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value))sql");
  if (!st.ok()) return st.status();
  st->bindInt64(1, *next);
  return st->run();
}

Result<int64_t> CoordinatorStoreImpl::nextWindowSeq() {
  return db_.queryInt64(
      "SELECT COALESCE((SELECT value FROM counters WHERE name = 'next_window_seq'), 1)");
}

}  // namespace aifed::store::internal
