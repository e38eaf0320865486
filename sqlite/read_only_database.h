// A look into an aifed database that changes nothing: for `--check` (issue 17), which
// must neither migrate nor create a file. Opened SQLITE_OPEN_READONLY; when no `-wal`
// file exists (no daemon has it open, no crash left one) it is opened `immutable`, so
// SQLite does not even create the `-wal` and `-shm` files a read-only open of a WAL
// database would otherwise leave behind. While a daemon runs, the files it made are
// read as they are.
//
//   Result<ReadOnlyDatabase> db = ReadOnlyDatabase::open("/var/lib/aifed/coordinator.db");
//   Result<int64_t> version = db->queryInt64("PRAGMA user_version");
//   bool wal = isWalDatabaseFile("/var/lib/aifed/coordinator.db");
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/status.h"

struct sqlite3;

namespace aifed::sqlite {

class ReadOnlyDatabase {
 public:
  // kNotFound when the file does not exist; kInvalidArgument when it is not a database.
  static Result<ReadOnlyDatabase> open(const std::string& path);

  // The first column of the first row as an integer / text; nullopt when no row.
  Result<std::optional<int64_t>> queryInt64(std::string_view sql);
  Result<std::optional<std::string>> queryText(std::string_view sql);
  // Whether a table of that name exists.
  Result<bool> hasTable(std::string_view name);

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  explicit ReadOnlyDatabase(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  std::string path_;
  std::unique_ptr<sqlite3, Closer> db_;
};

// Whether the file's header says WAL (bytes 18 and 19 are 2), read without SQLite.
// nullopt when the file cannot be read or is shorter than a header.
std::optional<bool> isWalDatabaseFile(const std::string& path);

}  // namespace aifed::sqlite
