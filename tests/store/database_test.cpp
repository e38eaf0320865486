#include "sqlite/database.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <fstream>
#include <limits>

#include "tests/store/test_dir.h"

namespace aifed::sqlite {
namespace {

using testing_support::TestDir;

constexpr int32_t kAppId = 0x7465737;  // any id of "this application"

constexpr std::string_view kV1[] = {"CREATE TABLE a(k TEXT PRIMARY KEY, v INTEGER);"};
constexpr std::string_view kV2[] = {
    "CREATE TABLE a(k TEXT PRIMARY KEY, v INTEGER);",
    "CREATE TABLE b(x REAL); INSERT INTO a VALUES ('from-v2', 2);",
};

OpenOptions options(std::span<const std::string_view> migrations, int32_t app = kAppId) {
  return OpenOptions{.application_id = app,
                     .application_name = "aifed test",
                     .migrations = migrations,
                     .busy_timeout = std::chrono::milliseconds(5000)};
}

TEST(Database, OpensInWalWithFullSyncAndForeignKeys) {
  TestDir dir;
  Result<Database> db = Database::open(dir.file("t.db"), options(kV1));
  ASSERT_TRUE(db.ok()) << db.status().toString();
  EXPECT_EQ(db->queryText("PRAGMA journal_mode").value(), "wal");
  EXPECT_EQ(db->queryInt64("PRAGMA synchronous").value(), 2);  // FULL
  EXPECT_EQ(db->queryInt64("PRAGMA foreign_keys").value(), 1);
  EXPECT_EQ(db->queryInt64("PRAGMA application_id").value(), kAppId);
  EXPECT_EQ(db->schemaVersion().value(), 1);
}

TEST(Database, AppliesPendingMigrationsInOrderAndKeepsData) {
  TestDir dir;
  const std::string path = dir.file("t.db");
  {
    Result<Database> db = Database::open(path, options(kV1));
    ASSERT_TRUE(db.ok()) << db.status().toString();
    ASSERT_TRUE(db->exec("INSERT INTO a VALUES ('kept', 1)").ok());
  }
  Result<Database> db = Database::open(path, options(kV2));
  ASSERT_TRUE(db.ok()) << db.status().toString();
  EXPECT_EQ(db->schemaVersion().value(), 2);
  EXPECT_EQ(db->queryInt64("SELECT count(*) FROM a").value(), 2);
  EXPECT_EQ(db->queryInt64("SELECT v FROM a WHERE k = 'kept'").value(), 1);
  EXPECT_EQ(db->queryInt64("SELECT count(*) FROM b").value(), 0);
}

TEST(Database, FailedMigrationLeavesTheOldSchema) {
  TestDir dir;
  const std::string path = dir.file("t.db");
  { ASSERT_TRUE(Database::open(path, options(kV1)).ok()); }
  constexpr std::string_view kBroken[] = {kV1[0], "CREATE TABLE c(x); SELECT no_such_function();"};
  Result<Database> broken = Database::open(path, options(kBroken));
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), StatusCode::kInternal);
  EXPECT_NE(broken.status().message().find("schema version 2"), std::string::npos)
      << broken.status().message();

  Result<Database> db = Database::open(path, options(kV1));
  ASSERT_TRUE(db.ok()) << db.status().toString();
  EXPECT_EQ(db->schemaVersion().value(), 1);
  EXPECT_EQ(db->queryInt64("SELECT count(*) FROM sqlite_schema WHERE name = 'c'").value(), 0);
}

TEST(Database, RefusesASchemaNewerThanTheBuild) {
  TestDir dir;
  const std::string path = dir.file("t.db");
  { ASSERT_TRUE(Database::open(path, options(kV2)).ok()); }
  Result<Database> db = Database::open(path, options(kV1));
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(db.status().message().find("schema version 2 is newer"), std::string::npos)
      << db.status().message();
}

TEST(Database, RefusesAnotherApplicationsDatabase) {
  TestDir dir;
  const std::string path = dir.file("t.db");
  { ASSERT_TRUE(Database::open(path, options(kV1, 0x1234)).ok()); }
  Result<Database> db = Database::open(path, options(kV1));
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(db.status().message().find("is not an aifed test database"), std::string::npos)
      << db.status().message();
}

TEST(Database, RefusesAnSqliteFileWithoutApplicationId) {
  TestDir dir;
  const std::string path = dir.file("foreign.db");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "CREATE TABLE theirs(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);

  Result<Database> db = Database::open(path, options(kV1));
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(db.status().message().find("not an aifed test database"), std::string::npos);
}

TEST(Database, RefusesAFileThatIsNotSqlite) {
  TestDir dir;
  const std::string path = dir.file("notes.txt");
  std::ofstream(path) << "this is not a database, it is a text file with some length to it\n"
                      << std::string(200, 'x');
  Result<Database> db = Database::open(path, options(kV1));
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(db.status().message().find("not an SQLite file"), std::string::npos)
      << db.status().message();
}

TEST(Database, WriteLockHeldElsewhereIsUnavailable) {
  TestDir dir;
  const std::string path = dir.file("t.db");
  Result<Database> holder = Database::open(path, options(kV1));
  ASSERT_TRUE(holder.ok()) << holder.status().toString();
  OpenOptions impatient = options(kV1);
  impatient.busy_timeout = std::chrono::milliseconds(50);
  Result<Database> other = Database::open(path, impatient);
  ASSERT_TRUE(other.ok()) << other.status().toString();

  {
    Result<Transaction> held = Transaction::begin(*holder);
    ASSERT_TRUE(held.ok()) << held.status().toString();

    Result<Transaction> tx = Transaction::begin(*other);
    ASSERT_FALSE(tx.ok());
    EXPECT_EQ(tx.status().code(), StatusCode::kUnavailable) << tx.status().toString();
    Status insert = other->exec("INSERT INTO a VALUES ('x', 1)");
    EXPECT_EQ(insert.code(), StatusCode::kUnavailable) << insert.toString();
    // WAL: a reader is not blocked by the writer.
    EXPECT_EQ(other->queryInt64("SELECT count(*) FROM a").value(), 0);
  }  // `held` rolls back

  Result<Transaction> tx = Transaction::begin(*other);
  ASSERT_TRUE(tx.ok()) << tx.status().toString();
  EXPECT_TRUE(other->exec("INSERT INTO a VALUES ('x', 1)").ok());
  EXPECT_TRUE(tx->commit().ok());
  EXPECT_EQ(holder->queryInt64("SELECT count(*) FROM a").value(), 1);
}

TEST(Database, TransactionRollsBackUnlessCommitted) {
  TestDir dir;
  Result<Database> db = Database::open(dir.file("t.db"), options(kV1));
  ASSERT_TRUE(db.ok());
  {
    Result<Transaction> tx = Transaction::begin(*db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db->exec("INSERT INTO a VALUES ('dropped', 1)").ok());
  }
  EXPECT_EQ(db->queryInt64("SELECT count(*) FROM a").value(), 0);
  {
    Result<Transaction> tx = Transaction::begin(*db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db->exec("INSERT INTO a VALUES ('kept', 1)").ok());
    ASSERT_TRUE(tx->commit().ok());
    EXPECT_FALSE(tx->commit().ok());  // a second commit is a caller bug, reported
  }
  EXPECT_EQ(db->queryInt64("SELECT count(*) FROM a").value(), 1);
}

TEST(Database, StatementBindsAndReadsEveryType) {
  TestDir dir;
  Result<Database> db = Database::open(dir.file("t.db"), options(kV1));
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db->exec("CREATE TABLE v(t TEXT, i INTEGER, d REAL, n INTEGER, o INTEGER)").ok());
  Result<Statement> insert = db->prepare("INSERT INTO v VALUES (?1, ?2, ?3, ?4, ?5)");
  ASSERT_TRUE(insert.ok()) << insert.status().toString();
  const char kRaw[] = "nul\0inside é";
  const std::string text(kRaw, sizeof kRaw - 1);
  insert->bindText(1, text)
      .bindInt64(2, std::numeric_limits<int64_t>::min())
      .bindDouble(3, 1.0 / 3.0)
      .bindNull(4)
      .bindInt64(5, std::optional<int64_t>(42));
  ASSERT_TRUE(insert->run().ok());
  insert->reset();
  insert->bindText(1, "").bindInt64(2, 0).bindDouble(3, 0).bindInt64(4, 1).bindInt64(
      5, std::optional<int64_t>());
  ASSERT_TRUE(insert->run().ok());

  Result<Statement> select = db->prepare("SELECT t, i, d, n, o FROM v ORDER BY rowid");
  ASSERT_TRUE(select.ok());
  ASSERT_TRUE(select->step().value());
  EXPECT_EQ(select->columnText(0), text);
  EXPECT_EQ(select->columnInt64(1), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(select->columnDouble(2), 1.0 / 3.0);
  EXPECT_TRUE(select->isNull(3));
  EXPECT_EQ(select->columnOptionalInt64(4), std::optional<int64_t>(42));
  ASSERT_TRUE(select->step().value());
  EXPECT_EQ(select->columnOptionalInt64(4), std::nullopt);
  EXPECT_TRUE(select->columnBool(3));
  EXPECT_FALSE(select->step().value());
}

TEST(Database, BindErrorIsReportedByStep) {
  TestDir dir;
  Result<Database> db = Database::open(dir.file("t.db"), options(kV1));
  ASSERT_TRUE(db.ok());
  Result<Statement> st = db->prepare("SELECT ?1");
  ASSERT_TRUE(st.ok());
  st->bindInt64(7, 1);  // no such parameter
  Result<bool> row = st->step();
  ASSERT_FALSE(row.ok());
  EXPECT_EQ(row.status().code(), StatusCode::kInternal);
  EXPECT_NE(row.status().message().find("parameter 7"), std::string::npos);
}

TEST(Database, BadSqlIsInternalWithSqlitesMessage) {
  TestDir dir;
  Result<Database> db = Database::open(dir.file("t.db"), options(kV1));
  ASSERT_TRUE(db.ok());
  Result<Statement> st = db->prepare("SELEC 1");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), StatusCode::kInternal);
  EXPECT_NE(st.status().message().find("syntax error"), std::string::npos) << st.status().message();
}

}  // namespace
}  // namespace aifed::sqlite
