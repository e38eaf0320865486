// What `aifed-coordinator --check` needs to know of the database, read without changing
// it (sqlite/read_only_database.h): whose it is, its schema against this build's, and
// whether it is in WAL mode. Nothing is migrated, nothing created.
//
//   Result<CoordinatorStoreProbe> p = probeCoordinatorStore("/var/lib/aifed/coordinator.db");
//   if (p->schema > currentCoordinatorSchema()) ...  // made by a newer aifed: start refuses
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "coordinator/store/coordinator_store.h"
#include "protocol/status.h"

namespace aifed::store {

// The schema version this build migrates to (the number of its migrations).
int currentCoordinatorSchema();

struct CoordinatorStoreProbe {
  bool aifed_coordinator = false;  // the application id is the coordinator's (or unset: empty)
  bool empty = false;              // no schema at all (a new, zero-length or blank file)
  int schema = 0;                  // PRAGMA user_version
  std::optional<bool> wal;         // from the file header
  std::optional<FederationIdentity> identity;
  bool holds_records = false;  // any job, site, token or decision
};

// kNotFound when the file does not exist; kInvalidArgument when it is not an SQLite
// database. A database of another application is reported, not refused
// (aifed_coordinator false).
Result<CoordinatorStoreProbe> probeCoordinatorStore(const std::string& path);

}  // namespace aifed::store
