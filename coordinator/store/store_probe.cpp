#include "coordinator/store/store_probe.h"

#include "sqlite/read_only_database.h"

namespace aifed::store {
namespace internal {
int32_t coordinatorApplicationId();  // coordinator_store.cpp
int coordinatorMigrationCount();     // coordinator_store.cpp
}  // namespace internal

int currentCoordinatorSchema() {
  return internal::coordinatorMigrationCount();
}

namespace {

// The [federation] identity table (schema 5) and whether records are held; only for a
// coordinator database whose schema this build knows.
Status readIdentity(sqlite::ReadOnlyDatabase& db, CoordinatorStoreProbe& p) {
  Result<bool> has = db.hasTable("federation");
  if (!has.ok()) return has.status();
  if (*has) {
    Result<std::optional<std::string>> name =
        db.queryText("SELECT value FROM federation WHERE key = 'name'");
    Result<std::optional<std::string>> id =
        db.queryText("SELECT value FROM federation WHERE key = 'id'");
    if (!name.ok()) return name.status();
    if (!id.ok()) return id.status();
    if (id->has_value()) p.identity = FederationIdentity{**id, name->value_or(""), {}};
  }
  std::string count;
  for (const char* table : {"jobs", "sites", "tokens", "decisions"}) {
    Result<bool> t = db.hasTable(table);
    if (!t.ok()) return t.status();
    if (!*t) continue;
    count +=
        std::string(count.empty() ? "SELECT " : " + ") + "(SELECT COUNT(*) FROM " + table + ")";
  }
  if (count.empty()) return Status::Ok();
  Result<std::optional<int64_t>> n = db.queryInt64(count);
  if (!n.ok()) return n.status();
  p.holds_records = n->value_or(0) > 0;
  return Status::Ok();
}

}  // namespace

Result<CoordinatorStoreProbe> probeCoordinatorStore(const std::string& path) {
  Result<sqlite::ReadOnlyDatabase> db = sqlite::ReadOnlyDatabase::open(path);
  if (!db.ok()) return db.status();
  CoordinatorStoreProbe p;
  Result<std::optional<int64_t>> app = db->queryInt64("PRAGMA application_id");
  Result<std::optional<int64_t>> version = db->queryInt64("PRAGMA user_version");
  Result<std::optional<int64_t>> tables = db->queryInt64("SELECT COUNT(*) FROM sqlite_master");
  if (!app.ok()) return app.status();
  if (!version.ok()) return version.status();
  if (!tables.ok()) return tables.status();
  p.schema = static_cast<int>(version->value_or(0));
  p.empty = tables->value_or(0) == 0 && p.schema == 0;
  p.aifed_coordinator = app->value_or(0) == internal::coordinatorApplicationId() ||
                        (p.empty && app->value_or(0) == 0);
  p.wal = sqlite::isWalDatabaseFile(path);
  if (p.aifed_coordinator && !p.empty && p.schema <= currentCoordinatorSchema()) {
    if (Status s = readIdentity(*db, p); !s.ok()) return s;
  }
  return p;
}

}  // namespace aifed::store
