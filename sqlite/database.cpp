#include "sqlite/database.h"

#include <sqlite3.h>

#include <cstdio>
#include <limits>
#include <utility>

namespace aifed::sqlite {

namespace {

Status statusFor(int rc, std::string message) {
  switch (rc & 0xff) {  // the primary code: SQLITE_BUSY_SNAPSHOT is still busy
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return unavailable(std::move(message));
    default:
      return internalError(std::move(message));
  }
}

std::string hex(int32_t value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<uint32_t>(value));
  return buf;
}

}  // namespace

// --- Statement ---

void Statement::Finalizer::operator()(sqlite3_stmt* stmt) const {
  sqlite3_finalize(stmt);
}

void Statement::noteBind(int rc, int index) {
  if (rc != SQLITE_OK && bind_error_.ok()) {
    bind_error_ = statusFor(rc, "binding parameter " + std::to_string(index) + " of \"" +
                                    sqlite3_sql(stmt_.get()) + "\": " + sqlite3_errstr(rc));
  }
}

Statement& Statement::bindText(int index, std::string_view value) {
  noteBind(sqlite3_bind_text64(stmt_.get(), index, value.data(), value.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8),
           index);
  return *this;
}

Statement& Statement::bindInt64(int index, int64_t value) {
  noteBind(sqlite3_bind_int64(stmt_.get(), index, value), index);
  return *this;
}

Statement& Statement::bindDouble(int index, double value) {
  noteBind(sqlite3_bind_double(stmt_.get(), index, value), index);
  return *this;
}

Statement& Statement::bindNull(int index) {
  noteBind(sqlite3_bind_null(stmt_.get(), index), index);
  return *this;
}

Result<bool> Statement::step() {
  if (!bind_error_.ok()) return bind_error_;
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status status = statusFor(rc, std::string(sqlite3_errmsg(db_)) + " (" + sqlite3_errstr(rc) +
                                    ") in \"" + sqlite3_sql(stmt_.get()) + "\"");
  // A failed step leaves the statement needing a reset before it can run again.
  sqlite3_reset(stmt_.get());
  return status;
}

Status Statement::run() {
  for (;;) {
    Result<bool> row = step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  bind_error_ = Status::Ok();
}

bool Statement::isNull(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

int64_t Statement::columnInt64(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

double Statement::columnDouble(int column) const {
  return sqlite3_column_double(stmt_.get(), column);
}

std::string Statement::columnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), column);
  if (text == nullptr) return {};
  // Size after the text conversion above, so embedded NULs survive.
  int size = sqlite3_column_bytes(stmt_.get(), column);
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

std::optional<int64_t> Statement::columnOptionalInt64(int column) const {
  if (isNull(column)) return std::nullopt;
  return columnInt64(column);
}

// --- Database ---

void Database::Closer::operator()(sqlite3* db) const {
  // close_v2 defers the close until the last Statement is finalized, so destruction
  // order between a Database and its Statements does not matter.
  sqlite3_close_v2(db);
}

Status Database::error(int rc, std::string_view what) const {
  return statusFor(rc, std::string(what) + " on " + path_ + ": " + sqlite3_errmsg(db_.get()) +
                           " (" + sqlite3_errstr(rc) + ")");
}

Result<Database> Database::open(const std::string& path, const OpenOptions& options) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Database db(path, raw);  // owns `raw` even when the open failed
  if (rc != SQLITE_OK) {
    if (raw == nullptr) return internalError("opening " + path + ": out of memory");
    return db.error(rc, "opening");
  }
  sqlite3_extended_result_codes(raw, 1);
  db.setBusyTimeout(options.busy_timeout);

  // Before anything writes to the file: it must be ours (or empty).
  if (Status s = db.checkApplication(options); !s.ok()) return s;

  // WAL: readers never block the writer and a commit appends to the log instead of
  // rewriting pages. The mode is persistent in the file, but setting it is cheap.
  Result<std::string> mode = db.queryText("PRAGMA journal_mode=WAL");
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") {
    return internalError(path + ": could not enable WAL (journal_mode is " + *mode + ")");
  }
  // FULL rather than NORMAL: with WAL, NORMAL never corrupts the file but may lose the
  // last transactions on power loss or an OS crash. Our rule is "persist, then send":
  // the coordinator sends a DISPATCH and the agent submits to Slurm only after the
  // commit, so a commit that disappears after the fact could make a job run twice or
  // be forgotten. FULL costs one fsync of the WAL per commit, which group commit
  // (one transaction per batch of effects) amortises.
  if (Status s = db.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"); !s.ok()) return s;

  if (Status s = db.migrate(options); !s.ok()) return s;
  return db;
}

Status Database::checkApplication(const OpenOptions& options) {
  const std::string refusal =
      path_ + " is not an " + std::string(options.application_name) + " database";
  Result<int64_t> id = queryInt64("PRAGMA application_id");
  if (!id.ok()) {
    // The header is read lazily: a file of another format fails here.
    int rc = sqlite3_extended_errcode(db_.get());
    if ((rc & 0xff) == SQLITE_NOTADB) return invalidArgument(refusal + " (not an SQLite file)");
    return id.status();
  }
  int32_t found = static_cast<int32_t>(*id);
  if (found == options.application_id) return Status::Ok();
  if (found != 0) {
    return invalidArgument(refusal + " (application_id " + hex(found) + ", expected " +
                           hex(options.application_id) + ")");
  }
  // No application id: only a brand-new, empty file may become ours.
  Result<int64_t> objects = queryInt64("SELECT count(*) FROM sqlite_schema");
  if (!objects.ok()) return objects.status();
  if (*objects != 0) return invalidArgument(refusal + " (an SQLite file of another program)");
  return Status::Ok();
}

Status Database::migrate(const OpenOptions& options) {
  const int known = static_cast<int>(options.migrations.size());
  auto newer = [&](int version) {
    return invalidArgument(path_ + ": schema version " + std::to_string(version) +
                           " is newer than this build knows (" + std::to_string(known) +
                           "); upgrade aifed or restore a backup");
  };
  Result<int> version = schemaVersion();
  if (!version.ok()) return version.status();
  if (*version > known) return newer(*version);
  Result<int64_t> app = queryInt64("PRAGMA application_id");
  if (!app.ok()) return app.status();
  if (*version == known && *app == options.application_id) return Status::Ok();

  Result<Transaction> tx = Transaction::begin(*this);
  if (!tx.ok()) return tx.status();
  // Read again under the write lock: another process may have migrated meanwhile.
  version = schemaVersion();
  if (!version.ok()) return version.status();
  if (*version > known) return newer(*version);
  if (Status s = exec("PRAGMA application_id=" + std::to_string(options.application_id)); !s.ok()) {
    return s;
  }
  for (int v = *version; v < known; ++v) {
    if (Status s = exec(options.migrations[static_cast<size_t>(v)]); !s.ok()) {
      return Status(s.code(), "migration to schema version " + std::to_string(v + 1) +
                                  " failed: " + s.message());
    }
    if (Status s = exec("PRAGMA user_version=" + std::to_string(v + 1)); !s.ok()) return s;
  }
  return tx->commit();
}

Status Database::exec(std::string_view sql) {
  // sqlite3_exec needs a NUL-terminated string.
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string what = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return statusFor(rc, path_ + ": " + what + " (" + sqlite3_errstr(rc) + ") in \"" + text + "\"");
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return error(rc, "preparing \"" + std::string(sql) + "\"");
  }
  return Statement(db_.get(), stmt);
}

Result<int64_t> Database::queryInt64(std::string_view sql) {
  Result<Statement> st = prepare(sql);
  if (!st.ok()) return st.status();
  Result<bool> row = st->step();
  if (!row.ok()) return row.status();
  if (!*row) return internalError(path_ + ": \"" + std::string(sql) + "\" returned no row");
  return st->columnInt64(0);
}

Result<std::string> Database::queryText(std::string_view sql) {
  Result<Statement> st = prepare(sql);
  if (!st.ok()) return st.status();
  Result<bool> row = st->step();
  if (!row.ok()) return row.status();
  if (!*row) return internalError(path_ + ": \"" + std::string(sql) + "\" returned no row");
  return st->columnText(0);
}

Result<int> Database::narrow(Result<int64_t> value) {
  if (!value.ok()) return value.status();
  if (*value < std::numeric_limits<int>::min() || *value > std::numeric_limits<int>::max()) {
    return internalError("value " + std::to_string(*value) + " out of range");
  }
  return static_cast<int>(*value);
}

void Database::setBusyTimeout(std::chrono::milliseconds timeout) {
  sqlite3_busy_timeout(db_.get(), static_cast<int>(timeout.count()));
}

// --- Transaction ---

Result<Transaction> Transaction::begin(Database& db) {
  if (Status s = db.exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  return Transaction(&db);
}

Status Transaction::commit() {
  // Invariant: commit() is called at most once on a live transaction.
  if (db_ == nullptr) return internalError("commit of a finished transaction");
  Status s = db_->exec("COMMIT");
  if (!s.ok()) {
    // A failed COMMIT (e.g. busy) leaves the transaction open; the destructor rolls
    // it back so the connection is usable again.
    return s;
  }
  db_ = nullptr;
  return s;
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)db_->exec("ROLLBACK");
}

}  // namespace aifed::sqlite
