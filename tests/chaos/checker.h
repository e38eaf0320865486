// The chaos suite's checker: after a scenario, cross-checks what every client was told
// (each submission and its answer), the coordinator's database, every agent's database
// and the backend (Slurm's own job list, or for simulated sites what the agents and the
// coordinator recorded), and reports each broken promise with the job, the attempt and
// what was seen.
//
//   CheckInput in;
//   in.submissions = stream.submissions();              // submission_stream.h
//   in.coordinator_db = fed->coordinatorDatabasePath();
//   in.agent_dbs = {{"site-a", state + "/db/site-a-agent.db"}, ...};
//   Result<CheckReport> report = checkFederation(in);
//   ASSERT_TRUE(report.ok()) << report.status().toString();
//   EXPECT_TRUE(report->ok()) << report->toString();
//
// The rules (each violation names one; docs/testing.md explains them):
//   201-lost             a 201's job id is not in the coordinator's database
//   id-reused            one id names two different jobs: two 201s, or a 201 and the
//                        coordinator's or an agent's record of another job
//   refused-but-stored   a submission answered with an error exists in a database
//   not-ended            an accepted job is not terminal once the federation drained
//   attempt-not-ended    a site still holds an attempt of a job the coordinator ended
//   state-mismatch       the coordinator's end of an attempt differs from its site's
//   ended-twice          more than one attempt of a job ran to its end
//   overlap              two attempts of a job ran at the same time
//   duplicate-submission one attempt reached the backend more than once (Slurm tags)
//   cancelled-unknown    a site cancelled an attempt the coordinator did not know
//   phantom-job          a database holds a job no client submitted
//   quarantine-missing   after a restore, a job the restored coordinator does not know is
//                        not in its quarantine
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed::chaos {

// One submission, as the client saw it. Every spec of a run has its own `name`: that is
// how a job is recognised in every database whatever id it got.
struct Submission {
  std::string name;
  int http_status = 0;     // 0: no answer (refused, reset or timed out)
  std::string job_id;      // from a 201
  std::string error_code;  // the error body's code ("unavailable", ...), if any
  Time sent_at{};
  Time answered_at{};
};

// One job in the coordinator's database (table jobs: its latest attempt).
struct CoordinatorJob {
  std::string id;
  std::string name;  // spec.name
  std::string state;
  std::string site;
  int attempt = 0;
  std::optional<Time> started_at, ended_at;
};

// One attempt in an agent's database (table dispatches).
struct AgentAttempt {
  std::string site;
  std::string job_id;
  int attempt = 0;
  std::string name;  // spec.name
  bool accepted = false;
  std::string state;
  Time received_at{};
  Time updated_at{};
  std::optional<Time> started_at, ended_at;  // when the agent's schema has them
};

// One job of a real backend carrying the aifed tag (Slurm's --comment).
struct BackendJob {
  std::string site;
  std::string job_id;
  int attempt = 0;
  std::string local_id;
  std::string state;  // Slurm's: COMPLETED, RUNNING, ...
  std::optional<Time> started_at, ended_at;
};

struct QuarantineEntry {
  std::string site;
  std::string job_id;
  int attempt = 0;
};

// Everything read from the databases and the backend.
struct Records {
  std::vector<CoordinatorJob> jobs;
  std::vector<AgentAttempt> attempts;
  std::vector<BackendJob> backend;
  std::vector<QuarantineEntry> quarantine;
  bool quarantine_table = false;      // the coordinator's schema has one
  bool attempt_run_times = false;     // every agent's schema has started_at/ended_at
};

struct CheckInput {
  std::vector<Submission> submissions;
  std::string coordinator_db;
  std::map<std::string, std::string> agent_dbs;  // site -> database file
  // Sites whose backend is the real Slurm: their BackendJobs are the truth about runs.
  std::set<std::string> slurm_sites;
  std::vector<BackendJob> backend_jobs;
  // Simulated sites run their jobs inside the agent: nothing of a site runs past the
  // moment its agent was killed (the test knows when it did).
  std::map<std::string, std::vector<Time>> agent_kills;
  // A restore, at `restored_at`, from a backup taken at `backup_taken_at`: jobs accepted
  // after the backup may be unknown to the restored coordinator; those a site still held
  // at the restore must then be quarantined (if the schema has a quarantine), and none
  // may be cancelled.
  std::optional<Time> backup_taken_at;
  std::optional<Time> restored_at;
  bool expect_drained = true;
};

struct Violation {
  std::string rule;
  std::string job_id;
  int attempt = 0;  // 0: about the job, not one attempt
  std::string what;
};

struct CheckReport {
  std::vector<Violation> violations;
  std::vector<std::string> notes;  // what the records cannot prove, client retries, ...
  std::map<std::string, int> counts;  // "submissions", "201", "503", "jobs", "attempts", ...

  bool ok() const { return violations.empty(); }
  // A readable report: the counts, one line per violation grouped by rule, the notes.
  std::string toString() const;
};

// Reads the databases (read-only) and applies every rule. An unreadable database is an
// error, not a report.
Result<CheckReport> checkFederation(const CheckInput& input);

// The parts, for the checker's own tests.
Result<Records> readRecords(const CheckInput& input);
CheckReport checkRecords(const CheckInput& input, const Records& records);

// Slurm's `squeue --json` text -> the jobs whose comment is "<tag_prefix>:<job>:<attempt>".
Result<std::vector<BackendJob>> slurmBackendJobs(const std::string& squeue_json,
                                                 const std::string& tag_prefix,
                                                 const std::string& site);

}  // namespace aifed::chaos
