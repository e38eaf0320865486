// A thin RAII layer over the SQLite C API, shared by the coordinator's and the agent's
// stores: one connection, prepared statements with bind helpers, BEGIN IMMEDIATE
// transactions, and forward-only schema migrations tracked by PRAGMA user_version.
//
// Every failure is a Status: SQLITE_BUSY / SQLITE_LOCKED (another connection kept the
// write lock past the busy timeout) is kUnavailable, so a caller may retry; a file of
// another application or a schema newer than this build is kInvalidArgument; anything
// else is kInternal with SQLite's own message.
//
//   static constexpr std::string_view kMigrations[] = {
//       "CREATE TABLE t(k TEXT PRIMARY KEY, v INTEGER);",   // -> version 1
//   };
//   Result<Database> db = Database::open(path, {.application_id = 0x61694641,
//                                              .application_name = "aifed agent",
//                                              .migrations = kMigrations});
//   Result<Transaction> tx = Transaction::begin(*db);
//   Result<Statement> st = db->prepare("INSERT INTO t(k, v) VALUES (?1, ?2)");
//   st->bindText(1, "epoch").bindInt64(2, 7);
//   if (Status s = st->run(); !s.ok()) return s;
//   return tx->commit();
//
// Threading: a Database and its Statements belong to one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "protocol/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace aifed::sqlite {

struct OpenOptions {
  // Stored in the file header (PRAGMA application_id) when the file is created and
  // checked at every open, so a store never migrates another program's database.
  int32_t application_id = 0;
  // For messages: "not an aifed coordinator database".
  std::string_view application_name = "aifed";
  // migrations[i] is the SQL script that brings the schema from version i to i + 1.
  // Scripts are applied in order, each pending one in a single transaction with the
  // version bump; never edit a released script, append a new one.
  std::span<const std::string_view> migrations;
  // How long a statement waits for another connection's lock before kUnavailable.
  std::chrono::milliseconds busy_timeout{5000};
};

// A prepared statement. Bind errors are remembered and reported by the next step() or
// run(), so binds can be chained. Parameter indexes start at 1, column indexes at 0.
class Statement {
 public:
  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) noexcept = default;
  ~Statement() = default;

  Statement& bindText(int index, std::string_view value);
  Statement& bindInt64(int index, int64_t value);
  Statement& bindDouble(int index, double value);
  Statement& bindBool(int index, bool value) { return bindInt64(index, value ? 1 : 0); }
  Statement& bindNull(int index);
  Statement& bindInt64(int index, std::optional<int64_t> value) {
    return value ? bindInt64(index, *value) : bindNull(index);
  }

  // Advances to the next row: true when a row is available, false when done.
  Result<bool> step();
  // Steps until done; for statements that return no rows.
  Status run();
  // Makes the statement ready to run again and clears its bindings.
  void reset();

  // Column access for the current row.
  bool isNull(int column) const;
  int64_t columnInt64(int column) const;
  double columnDouble(int column) const;
  bool columnBool(int column) const { return columnInt64(column) != 0; }
  std::string columnText(int column) const;
  std::optional<int64_t> columnOptionalInt64(int column) const;

 private:
  friend class Database;
  struct Finalizer {
    void operator()(sqlite3_stmt* stmt) const;
  };
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void noteBind(int rc, int index);

  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  Status bind_error_;
};

class Database {
 public:
  // Opens or creates the file, then: busy timeout, application id check, WAL,
  // synchronous=FULL, foreign keys on, pending migrations. kInvalidArgument if the file
  // is not a database of `options.application_id` or its schema is newer than
  // `options.migrations` knows; kUnavailable if it stays locked; kInternal otherwise.
  static Result<Database> open(const std::string& path, const OpenOptions& options);

  Database(Database&&) noexcept = default;
  Database& operator=(Database&&) noexcept = default;
  ~Database() = default;

  // Runs one or more statements that return nothing of interest.
  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  // The value of a PRAGMA (or any query) that yields one integer.
  Result<int64_t> queryInt64(std::string_view sql);
  Result<std::string> queryText(std::string_view sql);

  // PRAGMA user_version: the number of migrations applied.
  Result<int> schemaVersion() { return narrow(queryInt64("PRAGMA user_version")); }
  void setBusyTimeout(std::chrono::milliseconds timeout);
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_.get(); }

  // A Status for the result code `rc` of the last call on this connection.
  Status error(int rc, std::string_view what) const;

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  Database(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  Status checkApplication(const OpenOptions& options);
  Status migrate(const OpenOptions& options);
  static Result<int> narrow(Result<int64_t> value);

  std::string path_;
  std::unique_ptr<sqlite3, Closer> db_;
};

// BEGIN IMMEDIATE on creation: takes the write lock up front, so a transaction never
// fails half-way with SQLITE_BUSY on its first write. Rolls back on destruction unless
// commit() succeeded.
class Transaction {
 public:
  [[nodiscard]] static Result<Transaction> begin(Database& db);

  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();

  Status commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;  // null once committed, rolled back or moved from
};

}  // namespace aifed::sqlite
