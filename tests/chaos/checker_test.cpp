// The checker itself: each rule fires on the records that break it and stays quiet on a
// clean run, and the records are read from real SQLite files of the daemons' shape.
#include "tests/chaos/checker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

namespace aifed::chaos {
namespace {

using ::testing::HasSubstr;

Time at(int64_t s) {
  return fromMillis(1'764'000'000'000 + s * 1000);
}

Submission accepted(const std::string& name, const std::string& id, int64_t s = 0) {
  return {name, 201, id, "", at(s), at(s)};
}
CoordinatorJob job(const std::string& id, const std::string& name, const std::string& state,
                   const std::string& site = "site-a", int attempt = 1) {
  return {id, name, state, site, attempt, std::nullopt, std::nullopt};
}
AgentAttempt attempt(const std::string& site, const std::string& id, int n,
                     const std::string& name, const std::string& state, int64_t from,
                     int64_t to) {
  return {site, id, n, name, true, state, at(from), at(to), std::nullopt, std::nullopt};
}

std::vector<std::string> rules(const CheckReport& r) {
  std::vector<std::string> out;
  for (const Violation& v : r.violations) out.push_back(v.rule + " " + v.job_id);
  return out;
}

// A clean run: two jobs, one of them re-placed after its first site lost it.
Records cleanRun() {
  Records r;
  r.jobs = {job("j-1", "x-1", "completed"), job("j-2", "x-2", "completed", "site-b", 2)};
  r.attempts = {attempt("site-a", "j-1", 1, "x-1", "completed", 0, 5),
                attempt("site-a", "j-2", 1, "x-2", "lost", 1, 4),
                attempt("site-b", "j-2", 2, "x-2", "completed", 6, 9)};
  return r;
}
CheckInput cleanInput() {
  CheckInput in;
  in.submissions = {accepted("x-1", "j-1"), accepted("x-2", "j-2"),
                    {"x-3", 503, "", "unavailable", at(2), at(2)}, {"x-4", 0, "", "", at(3), at(3)}};
  return in;
}

TEST(CheckerTest, CleanRunHasNoViolations) {
  CheckReport r = checkRecords(cleanInput(), cleanRun());
  EXPECT_TRUE(r.ok()) << r.toString();
  EXPECT_EQ(r.counts["201"], 2);
  EXPECT_EQ(r.counts["503"], 1);
  EXPECT_EQ(r.counts["unanswered"], 1);
  EXPECT_THAT(r.toString(), HasSubstr("no violations"));
}

TEST(CheckerTest, LostAndReusedIdsAndRefusedJobsThatRan) {
  CheckInput in = cleanInput();
  in.submissions.push_back(accepted("x-5", "j-5"));   // never stored
  in.submissions.push_back(accepted("x-6", "j-1"));   // j-1 again
  Records rec = cleanRun();
  rec.attempts.push_back(attempt("site-c", "j-3", 1, "x-3", "completed", 2, 3));  // the 503
  CheckReport r = checkRecords(in, rec);
  EXPECT_THAT(rules(r), ::testing::IsSupersetOf({"201-lost j-5", "id-reused j-1",
                                                 "refused-but-stored j-3"}));
  EXPECT_THAT(r.toString(), HasSubstr("[201-lost] j-5: answered 201 for x-5"));
}

TEST(CheckerTest, OverlappingAttemptsAndTwoEndsAreCaught) {
  Records rec = cleanRun();
  // j-2's first copy went on until 7 s while the second started at 6 s, and completed.
  rec.attempts[1] = attempt("site-a", "j-2", 1, "x-2", "completed", 1, 7);
  CheckReport r = checkRecords(cleanInput(), rec);
  EXPECT_THAT(rules(r), ::testing::UnorderedElementsAre("ended-twice j-2", "overlap j-2"));
  EXPECT_THAT(r.toString(), HasSubstr("attempt 1 at site-a"));
}

TEST(CheckerTest, AnAgentsDeathEndsItsSimulatedRuns) {
  Records rec = cleanRun();
  rec.attempts[1] = attempt("site-a", "j-2", 1, "x-2", "lost", 1, 8);  // marked lost at restart
  CheckInput in = cleanInput();
  EXPECT_FALSE(checkRecords(in, rec).ok());  // [1, 8) and [6, 9) overlap
  in.agent_kills["site-a"] = {at(5)};         // but the copy died with its agent at 5 s
  EXPECT_TRUE(checkRecords(in, rec).ok()) << checkRecords(in, rec).toString();
}

TEST(CheckerTest, UnendedJobsAndStrandedAttemptsAfterTheDrain) {
  Records rec = cleanRun();
  rec.jobs[0].state = "running";
  rec.attempts.push_back(attempt("site-c", "j-2", 3, "x-2", "running", 9, 9));
  CheckReport r = checkRecords(cleanInput(), rec);
  EXPECT_THAT(rules(r), ::testing::IsSupersetOf({"not-ended j-1", "attempt-not-ended j-2"}));
}

TEST(CheckerTest, CancellingWhatTheCoordinatorDoesNotKnow) {
  Records rec = cleanRun();
  rec.attempts.push_back(attempt("site-b", "j-9", 1, "x-9", "cancelled", 1, 2));
  CheckInput in = cleanInput();
  in.submissions.push_back({"x-9", 0, "", "", at(1), at(1)});  // its answer was lost
  CheckReport r = checkRecords(in, rec);
  EXPECT_THAT(rules(r), ::testing::ElementsAre("cancelled-unknown j-9"));
}

TEST(CheckerTest, AfterARestoreUnknownJobsMustBeQuarantined) {
  CheckInput in = cleanInput();
  in.backup_taken_at = at(10);
  in.restored_at = at(13);
  in.submissions.push_back(accepted("x-7", "j-7", 11));
  in.submissions.push_back(accepted("x-8", "j-8", 12));
  Records rec = cleanRun();
  rec.quarantine_table = true;
  rec.quarantine = {{"site-a", "j-7", 1}};
  rec.attempts.push_back(attempt("site-a", "j-7", 1, "x-7", "completed", 11, 13));
  rec.attempts.push_back(attempt("site-b", "j-8", 1, "x-8", "completed", 12, 14));
  // j-9 ended before the restore: no site reported it, nothing to quarantine.
  in.submissions.push_back(accepted("x-9", "j-9", 11));
  rec.attempts.push_back(attempt("site-b", "j-9", 1, "x-9", "completed", 11, 12));
  CheckReport r = checkRecords(in, rec);
  EXPECT_THAT(rules(r), ::testing::ElementsAre("quarantine-missing j-8"));
}

TEST(CheckerTest, SlurmTagsMakeTheBackendsRecord) {
  const std::string squeue = R"({"jobs": [
    {"job_id": 11, "name": "a", "comment": "run7:j-1:1", "job_state": "COMPLETED",
     "partition": "gpu", "node_count": 1, "start_time": 100, "end_time": 110, "submit_time": 99},
    {"job_id": 12, "name": "b", "comment": "run7:j-1:1", "job_state": "COMPLETED",
     "partition": "gpu", "node_count": 1, "start_time": 105, "end_time": 115, "submit_time": 99},
    {"job_id": 13, "name": "c", "comment": "other:j-1:1", "job_state": "RUNNING",
     "partition": "gpu", "node_count": 1, "start_time": 100, "end_time": 0, "submit_time": 99}]})";
  Result<std::vector<BackendJob>> jobs = slurmBackendJobs(squeue, "run7", "slurm-local");
  ASSERT_TRUE(jobs.ok()) << jobs.status().toString();
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0].job_id, "j-1");
  EXPECT_EQ((*jobs)[0].attempt, 1);
  Records rec;
  rec.jobs = {job("j-1", "x-1", "completed", "slurm-local")};
  rec.backend = *jobs;
  CheckInput in;
  in.submissions = {accepted("x-1", "j-1")};
  in.slurm_sites = {"slurm-local"};
  CheckReport r = checkRecords(in, rec);
  EXPECT_THAT(rules(r), ::testing::UnorderedElementsAre("duplicate-submission j-1",
                                                        "ended-twice j-1"));
}

// The checker reads the daemons' files: the columns it needs, by name.
TEST(CheckerTest, ReadsCoordinatorAndAgentDatabases) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("aifed-checker-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto exec = [](const fs::path& file, const char* sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  };
  exec(dir / "c.db",
       "CREATE TABLE jobs (id TEXT, spec TEXT, state TEXT, site TEXT, attempt INTEGER, "
       "started_at INTEGER, ended_at INTEGER);"
       "INSERT INTO jobs VALUES ('j-1', '{\"name\":\"x-1\"}', 'completed', 'site-a', 1, 5, 9);");
  exec(dir / "a.db",
       "CREATE TABLE dispatches (job_id TEXT, attempt INTEGER, spec TEXT, accepted INTEGER, "
       "state TEXT, received_at INTEGER, updated_at INTEGER);"
       "INSERT INTO dispatches VALUES ('j-1', 1, '{\"name\":\"x-1\"}', 1, 'completed', 4, 9);");
  CheckInput in;
  in.coordinator_db = (dir / "c.db").string();
  in.agent_dbs = {{"site-a", (dir / "a.db").string()}};
  Result<Records> rec = readRecords(in);
  ASSERT_TRUE(rec.ok()) << rec.status().toString();
  ASSERT_EQ(rec->jobs.size(), 1u);
  EXPECT_EQ(rec->jobs[0].name, "x-1");
  ASSERT_EQ(rec->attempts.size(), 1u);
  EXPECT_EQ(rec->attempts[0].received_at, fromMillis(4));
  EXPECT_FALSE(rec->attempt_run_times);
  EXPECT_FALSE(rec->quarantine_table);
  in.coordinator_db = (dir / "absent.db").string();
  EXPECT_FALSE(readRecords(in).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace aifed::chaos
