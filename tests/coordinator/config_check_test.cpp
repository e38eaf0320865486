// `aifed-coordinator --check` one check at a time (coordinator/config_check.h): each FAIL
// and warning made to happen with real files and an injected user, time and file system.
#include "coordinator/config_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/files.h"
#include "coordinator/api/tls.h"
#include "coordinator/store/coordinator_store.h"
#include "coordinator/store/store_probe.h"
#include "protocol/transport/curve_keys.h"
#include "tests/store/test_dir.h"

namespace aifed::coordinator {
namespace {

using common::CheckLevel;
using common::CheckReport;
using ::testing::HasSubstr;
using testing_support::TestDir;

constexpr const char* kKeyA = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

// The lines of `report` as printed, one string.
std::string text(const CheckReport& report) {
  std::string out;
  for (const common::CheckLine& l : report.lines()) out += common::formatCheckLine(l) + "\n";
  return out;
}

int count(const CheckReport& report, CheckLevel level) {
  int n = 0;
  for (const common::CheckLine& l : report.lines()) n += l.level == level ? 1 : 0;
  return n;
}

class ConfigCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.uid = getuid();
    env_.now = Time(std::chrono::seconds(1'800'000'000));  // 2027-01-15
    env_.space = [this](const std::string&) -> Result<common::FileSystemSpace> { return space_; };
  }
  // A federation file of two sites with the given keys.
  std::string federation(const std::string& key_a, const std::string& key_b,
                         const std::string& name = "eurohpc-ai") {
    std::string site = R"(
[[site]]
id = "ID"
name = "ID"
country = "FI"
curve_public_key = "KEY"
  [[site.partition]]
  name = "gpu"
  nodes = 4
  accelerator = "h100"
  accelerators_per_node = 4
  cores_per_node = 64
  memory_gib = 512
)";
    auto one = [&](const std::string& id, const std::string& key) {
      std::string s = site;
      s.replace(s.find("ID"), 2, id);
      s.replace(s.find("ID"), 2, id);
      s.replace(s.find("KEY"), 3, key);
      return s;
    };
    std::string path = dir_.file("federation.toml");
    std::ofstream(path) << "[federation]\nname = \"" << name << "\"\n"
                        << one("mimer", key_a) << one("lumi-aif", key_b);
    return path;
  }
  // A coordinator database of federation `name`, made as --init makes it.
  std::string database(const std::string& name, const std::string& file = "coordinator.db") {
    std::string path = dir_.file(file);
    auto store = store::CoordinatorStore::open(path, /*create=*/true);
    EXPECT_TRUE(store.ok()) << store.status().toString();
    EXPECT_TRUE((*store)->initialise(name, env_.now).ok());
    return path;
  }

  TestDir dir_;
  common::CheckEnvironment env_;
  common::FileSystemSpace space_{uint64_t{50} << 30, uint64_t{100} << 30};  // 50 of 100 GiB
  CheckReport report_;
};

TEST_F(ConfigCheckTest, DuplicateKeyAcrossSitesFails) {
  // The federation file's parser refuses it; the check reports the parser's reason.
  std::optional<Federation> fed = checkFederationFile(report_, federation(kKeyA, kKeyA));
  EXPECT_FALSE(fed.has_value());
  EXPECT_TRUE(report_.failed());
  EXPECT_THAT(text(report_), HasSubstr("a key may act for one site only"));
}

TEST_F(ConfigCheckTest, GoodFederationFileNamesItsSites) {
  Result<transport::CurveKeyPair> b = transport::generateCurveKeyPair();
  ASSERT_TRUE(b.ok());
  checkFederationFile(report_, federation(kKeyA, b->public_key));
  EXPECT_FALSE(report_.failed()) << text(report_);
  EXPECT_THAT(text(report_), HasSubstr("federation \"eurohpc-ai\", 2 sites, 2 with a CURVE key"));
}

TEST_F(ConfigCheckTest, KeyFileReadableByOthersFailsAndOwnerIsChecked) {
  Result<transport::CurveKeyPair> kp = transport::generateCurveKeyPair();
  ASSERT_TRUE(kp.ok());
  ASSERT_TRUE(transport::writeKeyPair(*kp, dir_.file("keys"), "coordinator").ok());
  std::string key = dir_.file("keys/coordinator.key");
  checkCoordinatorKey(report_, env_, key);
  EXPECT_FALSE(report_.failed()) << text(report_);
  EXPECT_THAT(text(report_), HasSubstr(*transport::curveKeyFingerprint(kp->public_key)));

  ASSERT_EQ(chmod(key.c_str(), 0644), 0);
  CheckReport loose;
  checkCoordinatorKey(loose, env_, key);
  EXPECT_THAT(text(loose), HasSubstr("FAIL coordinator key file " + key + ": " + key +
                                     " has mode 0644: a secret must not be readable"));
  ASSERT_EQ(chmod(key.c_str(), 0600), 0);
  common::CheckEnvironment other = env_;
  other.uid = env_.uid + 4242;  // the daemon's user is not the file's owner
  CheckReport foreign;
  checkCoordinatorKey(foreign, other, key);
  EXPECT_THAT(text(foreign), HasSubstr("run it as the daemon's user"));
  // A .pub in place of the key pair: no secret.
  CheckReport pub_only;
  std::string pub = dir_.file("keys/coordinator.pub");
  ASSERT_EQ(chmod(pub.c_str(), 0600), 0);
  checkCoordinatorKey(pub_only, env_, pub);
  EXPECT_THAT(text(pub_only), HasSubstr("holds no secret key"));
}

TEST_F(ConfigCheckTest, ExpiredCertificateFailsAndOneNearExpiryWarns) {
  Time made = env_.now;
  Result<api::PemPair> pem = api::generateSelfSignedCertificate(made);
  ASSERT_TRUE(pem.ok()) << pem.status().toString();
  ASSERT_TRUE(common::writeFileAtomically(dir_.file("cert.pem"), pem->cert).ok());
  ASSERT_TRUE(common::writeFileAtomically(dir_.file("key.pem"), pem->key, 0600).ok());
  checkTls(report_, env_, dir_.file("cert.pem"), dir_.file("key.pem"), "");
  EXPECT_FALSE(report_.failed()) << text(report_);
  EXPECT_EQ(count(report_, CheckLevel::kWarn), 0) << text(report_);

  // Valid for ten years from `made`: 20 days before the end it warns, after it FAILs.
  common::CheckEnvironment soon = env_;
  soon.now = made + std::chrono::hours(24 * (3652 - 20));
  CheckReport near;
  checkTls(near, soon, dir_.file("cert.pem"), dir_.file("key.pem"), "");
  EXPECT_FALSE(near.failed()) << text(near);
  EXPECT_THAT(text(near), HasSubstr("warn TLS certificate"));
  EXPECT_THAT(text(near), HasSubstr("days"));

  common::CheckEnvironment late = env_;
  late.now = made + std::chrono::hours(24 * 3700);
  CheckReport expired;
  checkTls(expired, late, dir_.file("cert.pem"), dir_.file("key.pem"), "");
  EXPECT_TRUE(expired.failed());
  EXPECT_THAT(text(expired), HasSubstr("expired on"));
}

TEST_F(ConfigCheckTest, KeyOfAnotherCertificateFails) {
  Result<api::PemPair> one = api::generateSelfSignedCertificate(env_.now);
  Result<api::PemPair> two = api::generateSelfSignedCertificate(env_.now);
  ASSERT_TRUE(one.ok() && two.ok());
  ASSERT_TRUE(common::writeFileAtomically(dir_.file("cert.pem"), one->cert).ok());
  ASSERT_TRUE(common::writeFileAtomically(dir_.file("key.pem"), two->key, 0600).ok());
  checkTls(report_, env_, dir_.file("cert.pem"), dir_.file("key.pem"), "");
  EXPECT_THAT(text(report_), HasSubstr("does not match the certificate"));
}

TEST_F(ConfigCheckTest, NoCertificateYetSaysStartMakesOne) {
  checkTls(report_, env_, "", "", dir_.file("tls"));
  EXPECT_FALSE(report_.failed());
  EXPECT_THAT(text(report_), HasSubstr("start creates a self-signed one in " + dir_.file("tls")));
  EXPECT_FALSE(std::filesystem::exists(dir_.file("tls")));
}

TEST_F(ConfigCheckTest, MissingDatabaseFailsUnlessInit) {
  std::string db = dir_.file("db/coordinator.db");
  checkDatabase(report_, env_, db, "eurohpc-ai", /*init=*/false);
  EXPECT_TRUE(report_.failed());
  EXPECT_THAT(text(report_), HasSubstr("does not exist: start refuses it"));
  EXPECT_THAT(text(report_), HasSubstr("--init"));
  CheckReport init;
  std::string summary = checkDatabase(init, env_, db, "eurohpc-ai", /*init=*/true);
  EXPECT_FALSE(init.failed()) << text(init);
  EXPECT_THAT(summary, HasSubstr("new database"));
  EXPECT_FALSE(std::filesystem::exists(db)) << "--check creates nothing";
  EXPECT_FALSE(std::filesystem::exists(dir_.file("db")));
}

TEST_F(ConfigCheckTest, CurrentDatabaseOfThisFederationPassesAndIsLeftAsItWas) {
  std::string db = database("eurohpc-ai");
  std::string before = common::readFile(db).value();
  auto mtime = std::filesystem::last_write_time(db);
  std::string summary = checkDatabase(report_, env_, db, "eurohpc-ai", false);
  EXPECT_FALSE(report_.failed()) << text(report_);
  EXPECT_EQ(summary,
            "database schema " + std::to_string(store::currentCoordinatorSchema()) + " (current)");
  EXPECT_THAT(text(report_), HasSubstr("ok   database journal mode WAL"));
  EXPECT_THAT(text(report_), HasSubstr("federation \"eurohpc-ai\""));
  EXPECT_EQ(common::readFile(db).value(), before);
  EXPECT_EQ(std::filesystem::last_write_time(db), mtime);
  EXPECT_FALSE(std::filesystem::exists(db + "-wal")) << "a read-only look leaves no WAL file";
  EXPECT_FALSE(std::filesystem::exists(db + "-shm"));
}

TEST_F(ConfigCheckTest, ForeignFederationFails) {
  std::string db = database("another-federation");
  checkDatabase(report_, env_, db, "eurohpc-ai", false);
  EXPECT_TRUE(report_.failed());
  EXPECT_THAT(text(report_), HasSubstr("the database holds federation \"another-federation\", "
                                       "but the federation file names \"eurohpc-ai\""));
  CheckReport init;
  checkDatabase(init, env_, database("eurohpc-ai", "other.db"), "eurohpc-ai", true);
  EXPECT_THAT(text(init), HasSubstr("--init refused"));
}

// A database as a newer (or older) aifed left it: the coordinator's application id and
// a schema version of our choosing.
void makeDatabase(const std::string& path, int version) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::string sql = "PRAGMA application_id = " + std::to_string(0x61694643) +
                    "; PRAGMA user_version = " + std::to_string(version) +
                    "; CREATE TABLE jobs (id TEXT); INSERT INTO jobs VALUES ('j-1');";
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

TEST_F(ConfigCheckTest, NewerSchemaFailsOlderWarnsThatStartMigrates) {
  int current = store::currentCoordinatorSchema();
  makeDatabase(dir_.file("newer.db"), current + 1);
  checkDatabase(report_, env_, dir_.file("newer.db"), "eurohpc-ai", false);
  EXPECT_TRUE(report_.failed());
  EXPECT_THAT(text(report_), HasSubstr("made by a newer aifed (this build knows schema " +
                                       std::to_string(current) + ")"));
  makeDatabase(dir_.file("older.db"), 4);
  CheckReport older;
  checkDatabase(older, env_, dir_.file("older.db"), "eurohpc-ai", false);
  EXPECT_FALSE(older.failed()) << text(older);
  EXPECT_THAT(text(older),
              HasSubstr("warn database " + dir_.file("older.db") +
                        " schema 4: start migrates it to schema " + std::to_string(current)));
  EXPECT_THAT(text(older), HasSubstr("not WAL yet"));
}

TEST_F(ConfigCheckTest, LowFreeSpaceWarnsAndAlmostNoneFails) {
  std::string db = database("eurohpc-ai");
  space_ = {uint64_t{512} << 20, uint64_t{100} << 30};  // 512 MiB of 100 GiB
  checkDatabase(report_, env_, db, "eurohpc-ai", false);
  EXPECT_FALSE(report_.failed()) << text(report_);
  EXPECT_THAT(text(report_), HasSubstr("warn database free space: 512 MiB free of 100 GiB"));
  space_ = {uint64_t{8} << 20, uint64_t{100} << 30};  // 8 MiB
  CheckReport full;
  checkDatabase(full, env_, db, "eurohpc-ai", false);
  EXPECT_THAT(text(full), HasSubstr("FAIL database free space: 8.0 MiB free"));
}

TEST_F(ConfigCheckTest, DatabaseOwnedBySomeoneElseFails) {
  std::string db = database("eurohpc-ai");
  common::CheckEnvironment other = env_;
  other.uid = env_.uid + 4242;
  checkDatabase(report_, other, db, "eurohpc-ai", false);
  EXPECT_THAT(text(report_), HasSubstr("FAIL database file: " + db + " is owned by"));
}

TEST_F(ConfigCheckTest, ListenersAreCheckedAsText) {
  CoordinatorConfig c;
  c.zmq_bind = "tcp://*:7781";
  checkListeners(report_, c);
  EXPECT_FALSE(report_.failed()) << text(report_);
  c.zmq_bind = "tcp://0.0.0.0:77810";
  CheckReport bad;
  checkListeners(bad, c);
  EXPECT_THAT(text(bad), HasSubstr("FAIL zmq_bind: \"tcp://0.0.0.0:77810\": port \"77810\""));
  EXPECT_TRUE(common::validateTcpEndpoint("tcp://[::]:7781", true).ok());
  c.zmq_bind = "tcp://[::]:7781";  // well-formed, but aifed's ZeroMQ is IPv4 only
  CheckReport v6;
  checkListeners(v6, c);
  EXPECT_THAT(text(v6), HasSubstr("IPv4 only"));
  EXPECT_FALSE(common::validateTcpEndpoint("tcp://::1:7781", false).ok());
  EXPECT_FALSE(common::validateTcpEndpoint("tcp://*:7781", false).ok());
}

}  // namespace
}  // namespace aifed::coordinator
