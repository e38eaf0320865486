#include "sqlite/read_only_database.h"

#include <sqlite3.h>

#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>

namespace aifed::sqlite {

void ReadOnlyDatabase::Closer::operator()(sqlite3* db) const {
  sqlite3_close_v2(db);
}

Result<ReadOnlyDatabase> ReadOnlyDatabase::open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return notFound(path + " does not exist");
  // immutable=1 only when no WAL file exists: then there is nothing uncommitted to see,
  // and SQLite creates no -wal/-shm of its own.
  bool wal_present = std::filesystem::exists(path + "-wal", ec);
  std::string uri = "file:" + path + "?mode=ro" + (wal_present ? "" : "&immutable=1");
  // A '?' or '#' in the path would end the file name of the URI: percent-encode them.
  std::string encoded;
  for (size_t i = 0; i < uri.size(); ++i) {
    char c = uri[i];
    bool in_path = i >= 5 && i < 5 + path.size();
    if (in_path && (c == '?' || c == '#' || c == '%')) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      encoded += '%';
      encoded += kHex[(static_cast<unsigned char>(c) >> 4) & 0xF];
      encoded += kHex[static_cast<unsigned char>(c) & 0xF];
    } else {
      encoded += c;
    }
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(encoded.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  ReadOnlyDatabase db(path, raw);
  if (rc != SQLITE_OK) {
    return internalError(
        path + ": cannot open read-only: " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, 2000);
  // Reading the schema is the first real access: a file that is not a database fails here.
  Result<std::optional<int64_t>> probe = db.queryInt64("PRAGMA schema_version");
  if (!probe.ok())
    return invalidArgument(path + " is not an SQLite database: " + probe.status().message());
  return db;
}

namespace {

template <typename T, typename Read>
Result<std::optional<T>> queryOne(sqlite3* db, const std::string& path, std::string_view sql,
                                  Read read) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> st(raw, sqlite3_finalize);
  if (rc == SQLITE_OK) rc = sqlite3_step(raw);
  if (rc == SQLITE_DONE) return std::optional<T>();
  if (rc != SQLITE_ROW) {
    return internalError(path + ": " + std::string(sql) + ": " + sqlite3_errmsg(db));
  }
  return std::optional<T>(read(raw));
}

}  // namespace

Result<std::optional<int64_t>> ReadOnlyDatabase::queryInt64(std::string_view sql) {
  return queryOne<int64_t>(db_.get(), path_, sql,
                           [](sqlite3_stmt* st) { return sqlite3_column_int64(st, 0); });
}

Result<std::optional<std::string>> ReadOnlyDatabase::queryText(std::string_view sql) {
  return queryOne<std::string>(db_.get(), path_, sql, [](sqlite3_stmt* st) {
    const unsigned char* text = sqlite3_column_text(st, 0);
    return text ? std::string(reinterpret_cast<const char*>(text)) : std::string();
  });
}

Result<bool> ReadOnlyDatabase::hasTable(std::string_view name) {
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
      return invalidArgument("not a table name: " + std::string(name));
    }
  }
  Result<std::optional<int64_t>> n =
      queryInt64("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '" +
                 std::string(name) + "'");
  if (!n.ok()) return n.status();
  return n->value_or(0) > 0;
}

std::optional<bool> isWalDatabaseFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<char, 20> header{};
  if (!in.read(header.data(), header.size())) return std::nullopt;
  if (std::string_view(header.data(), 16) != std::string_view("SQLite format 3\0", 16)) {
    return std::nullopt;
  }
  return header[18] == 2 && header[19] == 2;
}

}  // namespace aifed::sqlite
