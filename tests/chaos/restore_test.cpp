// The coordinator's database lost or rolled back. Target (issue 12): a zero-length or
// schema-less database refuses to start and says to initialise a NEW federation with
// `aifed-coordinator --init`, which creates one; a restored older backup starts, never
// cancels what the agents still run, quarantines the jobs it does not know (GET
// /api/v1/quarantine) and never hands out an id again.
#include <signal.h>

#include <fstream>
#include <thread>

#include "common/files.h"
#include "tests/chaos/chaos_fixture.h"
#include "tests/chaos/host_faults.h"

namespace aifed::chaos {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

class RestoreTest : public ChaosTest {
 protected:
  // Runs the coordinator on its config as an operator would; what it printed and its
  // exit status, or "still running after 10 s" when it started instead of refusing.
  std::string runCoordinatorOnce(int& exit_code) {
    agent::ProcessRunner runner;
    agent::Command cmd({binDir() + "/coordinator/aifed-coordinator",
                        "--config", (state_ / "coordinator.toml").string()});
    cmd.timeout = 10s;
    Result<agent::CommandOutput> out = runner.run(cmd);
    if (!out.ok()) {
      exit_code = 0;
      return "still running after 10 s: " + out.status().toString();
    }
    exit_code = out->exit_code;
    return out->out + out->err;
  }
  void removeDatabase() {
    std::string db = fed_->coordinatorDatabasePath();
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
  }
  std::string adminToken() {
    Result<std::string> t = common::readFile((state_ / "db" / "admin.token").string());
    return t.ok() ? *t : "";
  }
};

TEST_F(RestoreTest, EmptyOrForeignDatabaseRefusesToStart) {
  ASSERT_NO_FATAL_FAILURE(prepare(chaosOptions()));
  ASSERT_NO_FATAL_FAILURE(startCoordinator());
  ASSERT_TRUE(fed_->stopCoordinator().ok());
  const std::string token = adminToken();
  ASSERT_FALSE(token.empty());

  // A zero-length file (a failed restore, a truncated copy).
  removeDatabase();
  std::ofstream(fed_->coordinatorDatabasePath()).close();
  int code = 0;
  std::string said = runCoordinatorOnce(code);
  EXPECT_NE(code, 0) << "a zero-length database was taken as a new federation:\n" << said;
  EXPECT_NE(said.find("--init"), std::string::npos) << said;
  EXPECT_EQ(fs::file_size(fed_->coordinatorDatabasePath()), 0u) << "the empty file was written";
  EXPECT_EQ(adminToken(), token) << "the admin token was rewritten";

  // A SQLite file without any schema.
  removeDatabase();
  ASSERT_TRUE(runCommand({"sqlite3", fed_->coordinatorDatabasePath(),
                          "CREATE TABLE t (x); DROP TABLE t;"})
                  .ok());
  said = runCoordinatorOnce(code);
  EXPECT_NE(code, 0) << "a schema-less database was taken as a new federation:\n" << said;
  EXPECT_NE(said.find("--init"), std::string::npos) << said;

  // Another program's SQLite file: refused and left as it was (no advice to --init it).
  removeDatabase();
  ASSERT_TRUE(runCommand({"sqlite3", fed_->coordinatorDatabasePath(),
                          "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('x');"})
                  .ok());
  said = runCoordinatorOnce(code);
  EXPECT_NE(code, 0) << "a foreign database was taken as a new federation:\n" << said;
  Result<agent::CommandOutput> notes =
      runCommand({"sqlite3", fed_->coordinatorDatabasePath(), "SELECT text FROM notes;"});
  EXPECT_TRUE(notes.ok() && notes->out == "x\n") << "the foreign file was changed";

  // --init makes a new federation where there is none (the launcher passes it when the
  // database file is missing).
  removeDatabase();
  EXPECT_TRUE(fed_->startCoordinator().ok()) << "--init did not start a new federation";
}

TEST_F(RestoreTest, OlderBackupRestoredMidRun) {
  ASSERT_NO_FATAL_FAILURE(prepare(chaosOptions()));
  ASSERT_NO_FATAL_FAILURE(startCoordinator());
  ASSERT_NO_FATAL_FAILURE(startAgents());
  // Long jobs (10..15 s), so those accepted after the backup still run at the restore.
  startStream(4, [](int n) { return chaosJob(600 + (n * 53) % 300); });
  std::this_thread::sleep_for(4s);

  const std::string db = fed_->coordinatorDatabasePath();
  const std::string backup = (state_ / "coordinator.backup.db").string();
  Time backup_at = wallClockNow();
  Result<agent::CommandOutput> b = runCommand({"sqlite3", db, ".backup '" + backup + "'"});
  ASSERT_TRUE(b.ok()) << b.status().toString();
  std::this_thread::sleep_for(4s);
  stream().stop();

  ASSERT_TRUE(fed_->stopCoordinator(SIGKILL).ok());
  removeDatabase();
  fs::copy_file(backup, db);
  Time restored_at = wallClockNow();
  // What the sites hold now that the restored coordinator never heard of.
  CheckInput now = checkInput();
  Result<Records> held = readRecords(now);
  ASSERT_TRUE(held.ok()) << held.status().toString();
  std::set<std::string> unknown_held;
  for (const Submission& s : now.submissions) {
    if (s.http_status != 201 || s.answered_at < backup_at) continue;
    for (const AgentAttempt& a : held->attempts) {
      if (a.job_id == s.job_id && (a.state == "pending" || a.state == "running")) {
        unknown_held.insert(s.job_id);
      }
    }
  }

  ASSERT_TRUE(fed_->startCoordinator().ok()) << "the restored backup did not start";
  ASSERT_TRUE(waitSitesUp(fed_->sites(), 30s));
  std::string listed;
  bool all_listed = waitFor(
      [&] {
        Result<cli::HttpResult> q = client_->request("GET", "/api/v1/quarantine", "");
        listed = q.ok() ? std::to_string(q->status) + " " + q->body : q.status().toString();
        for (const std::string& id : unknown_held) {
          if (listed.find("\"" + id + "\"") == std::string::npos) return false;
        }
        return q.ok() && q->status == 200;
      },
      15s);
  EXPECT_TRUE(all_listed) << unknown_held.size() << " jobs unknown to the restored coordinator "
                          << "still run at sites; GET /api/v1/quarantine: " << listed;

  stream().submitNow(10);  // ids after a restore: never one handed out before
  EXPECT_TRUE(waitDrained(120s)) << "not drained in 120 s";
  CheckInput in = checkInput();
  in.backup_taken_at = backup_at;
  in.restored_at = restored_at;
  check(in);
}

}  // namespace
}  // namespace aifed::chaos
