#include "coordinator/store/coordinator_store.h"

#include <gtest/gtest.h>

#include <fstream>

#include <filesystem>
#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "common/ids.h"
#include "site-agent/agent_store.h"
#include "tests/store/test_dir.h"

namespace aifed::store {
namespace {

using broker::Effects;
using broker::JobRecord;
using broker::PlacementDecision;
using broker::SiteRecord;
using broker::SiteVerdict;
using testing_support::TestDir;
using namespace std::chrono_literals;

Time at(int64_t ms) {
  return fromMillis(ms);
}

// A spec with every field away from its default. Whole seconds: the JSON form carries
// durations in seconds.
JobSpec fullSpec() {
  JobSpec spec;
  spec.name = "llm-pretrain";
  spec.project = "nordic-llm";
  spec.user = "alice";
  spec.nodes = 4;
  spec.gpus_per_node = 8;
  spec.gpu_type = "h100";
  spec.cores_per_node = 64;
  spec.memory_gib_per_node = 480;
  spec.walltime = 12h;
  spec.priority = 5;
  spec.allowed_sites = {"mimer", "lumi-ai"};
  spec.allowed_countries = {"SE", "FI"};
  spec.requeue_on_site_loss = false;
  spec.script = "#!/bin/bash\nsrun python train.py --config \"a b\"\n";
  spec.workdir = "/scratch/nordic-llm/run-7";
  spec.env = {{"HF_HOME", "/scratch/hf"}, {"OMP_NUM_THREADS", "8"}};
  spec.simulated_runtime = 3h;
  spec.simulated_exit_code = 3;
  spec.dependencies = {{"j-12", DependencyCondition::kAfterNotOk},
                       {"j-13", DependencyCondition::kAfterAny}};
  spec.stdout_name = "train-%A_%a.out";
  spec.stderr_name = "logs/train-%j.err";
  return spec;
}

// What schema 11 added (job arrays), for the tests that make an older database.
#define kUndoSchema11                                                              \
  "DROP INDEX jobs_by_array; DROP TABLE arrays; ALTER TABLE jobs DROP COLUMN array_id; " \
  "ALTER TABLE jobs DROP COLUMN array_index; DELETE FROM counters WHERE name = 'next_array_seq'; "

JobSpec minimalSpec() {
  JobSpec spec;
  spec.name = "eval";
  spec.project = "p";
  spec.user = "u";
  spec.walltime = 1min;
  return spec;
}

// Every field set, every optional present.
JobRecord fullJob(int64_t seq) {
  JobRecord job;
  job.id = common::formatJobId(seq);
  job.spec = fullSpec();
  job.state = JobState::kRunning;
  job.attempt = 3;
  job.site = "mimer";
  job.local_id = "4711";
  job.reason = "re-placed after \"lumi-ai\" was lost";
  job.cancel_requested = true;
  job.withdrawing = true;
  job.excluded_sites = {"lumi-ai", "bsc-ai"};
  job.submitted_at = at(1'700'000'000'123);
  job.updated_at = at(1'700'000'100'456);
  job.dispatched_at = at(1'700'000'050'001);
  job.last_sent_at = at(1'700'000'050'002);
  job.started_at = at(1'700'000'060'003);
  job.ended_at = at(1'700'000'090'004);
  job.exit_code = -9;
  job.at_site = {"alice_l", "llm-eu", "/scratch/alice_l/aifed-j-1-3.out",
                 "/scratch/alice_l/aifed-j-1-3.err",
                 broker::SiteUsage{"sacct", std::chrono::milliseconds(29'500), 2, 8,
                                   "billing=2,cpu=2,gres/gpu=8,node=2", "COMPLETED"}};
  job.array_id = "a-7";
  job.array_index = 998;
  return job;
}

// Every optional absent.
JobRecord queuedJob(int64_t seq) {
  JobRecord job;
  job.id = common::formatJobId(seq);
  job.spec = minimalSpec();
  job.submitted_at = at(1000 + seq);
  job.updated_at = at(1000 + seq);
  return job;
}

SiteRecord fullSite() {
  SiteRecord site;
  site.id = "mimer";
  site.state = SiteState::kSuspect;
  site.drained = true;
  SiteCapacity capacity;
  capacity.epoch = 42;
  PartitionCapacity gpu;
  gpu.name = "gpu";
  gpu.node_type =
      NodeType{.accelerator = "h200", .accelerators_per_node = 8, .cores = 96, .memory_gib = 1024};
  gpu.nodes_total = 100;
  gpu.nodes_idle = 10;
  gpu.nodes_allocated = 80;
  gpu.nodes_down = 4;
  gpu.nodes_draining = 6;
  gpu.pending_jobs = 12;
  gpu.pending_node_hours = 1536.5;
  gpu.running_jobs = 30;
  capacity.partitions.push_back(gpu);
  site.capacity = capacity;
  site.degraded = true;
  site.degraded_reason = "slurmctld slow to answer";
  site.last_heard = at(2'000'000);
  site.last_report = at(1'999'000);
  site.unreachable_since = at(1'500'000);
  site.agent_version = "0.1.0";
  site.jobs_placed = 1234567890123;
  site.drain_reason = "cooling \"loop\" repair";
  site.drained_by = "alice";
  site.drained_at = at(1'900'000);
  site.maintenance = {{"mw-3", at(2'100'000), at(2'200'000), "Slurm 24.11 upgrade", "ops-mimer"},
                      {"mw-4", at(2'300'000), at(2'400'000), "fäbric work", "admin"}};
  site.maintenance_retired = {{"mw-2", at(1'000'000), at(3'000'000), "power", "admin"}};
  return site;
}

PlacementDecision decision(const std::string& job_id, int attempt, int64_t ms,
                           const std::string& chosen) {
  PlacementDecision d;
  d.job_id = job_id;
  d.attempt = attempt;
  d.decided_at = at(ms);
  d.policy = "earliest-start";
  d.policy_version = 2;
  d.chosen_site = chosen;
  d.summary = chosen.empty() ? "waiting: no site fits" : "placed on " + chosen;
  SiteVerdict mimer;
  mimer.site = "mimer";
  mimer.feasible = true;
  mimer.partition = "gpu";
  mimer.estimated_start_s = 1.0 / 3.0;
  mimer.free_nodes = 12;
  mimer.score = 87.123456789012345;
  mimer.queue_wait_s = 0.25;
  mimer.staging_s = 1.0 / 12.0;
  mimer.scores = {{"estimated-start", 1.0 / 3.0, 99.99, 3}, {"carbon", 44.0, 100.0 / 7.0, 1}};
  SiteVerdict lumi;
  lumi.site = "lumi-ai";
  lumi.rejected_by = "fits";
  lumi.reason = "needs 4 nodes of h100, largest partition has 2";
  d.verdicts = {mimer, lumi};
  return d;
}

Result<std::unique_ptr<CoordinatorStore>> openStore(const TestDir& dir) {
  return CoordinatorStore::open(dir.file("coordinator.db"), /*create=*/true);
}

TEST(CoordinatorStore, NewStoreIsEmptyAtCurrentSchema) {
  TestDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok()) << store.status().toString();
  EXPECT_EQ((*store)->schemaVersion().value(), 11);
  EXPECT_TRUE((*store)->loadTokens().value().empty());
  EXPECT_TRUE((*store)->loadQuarantined().value().empty());
  EXPECT_FALSE((*store)->federationIdentity().value().has_value());
  EXPECT_TRUE((*store)->audit({}).value().empty());
  EXPECT_TRUE((*store)->loadJobs().value().empty());
  EXPECT_TRUE((*store)->loadSites().value().empty());
  EXPECT_EQ((*store)->nextJobSeq().value(), 1);
  EXPECT_TRUE((*store)->decisions("j-1").value().empty());
}

TEST(CoordinatorStore, DatabaseIsInWalMode) {
  TestDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  // A separate connection sees the mode recorded in the file itself.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("coordinator.db").c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(raw);
}

TEST(CoordinatorStore, EveryJobFieldRoundTripsAcrossReopen) {
  TestDir dir;
  Effects fx;
  fx.jobs = {fullJob(1), queuedJob(2)};
  {
    auto store = openStore(dir);
    ASSERT_TRUE(store.ok()) << store.status().toString();
    Status s = (*store)->apply(fx, {});
    ASSERT_TRUE(s.ok()) << s.toString();
  }
  auto store = openStore(dir);  // what a restarted daemon sees
  ASSERT_TRUE(store.ok()) << store.status().toString();
  auto jobs = (*store)->loadJobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status().toString();
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0], fx.jobs[0]);
  EXPECT_EQ((*jobs)[1], fx.jobs[1]);
  EXPECT_FALSE((*jobs)[1].dispatched_at.has_value());
  EXPECT_FALSE((*jobs)[1].exit_code.has_value());
  EXPECT_EQ((*store)->nextJobSeq().value(), 3);
}

TEST(CoordinatorStore, EverySiteFieldRoundTripsAcrossReopen) {
  TestDir dir;
  SiteRecord bare;
  bare.id = "pharos";  // no capacity yet, no times
  Effects fx;
  fx.sites = {fullSite(), bare};
  {
    auto store = openStore(dir);
    ASSERT_TRUE(store.ok());
    Status s = (*store)->apply(fx, {});
    ASSERT_TRUE(s.ok()) << s.toString();
  }
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  auto sites = (*store)->loadSites();
  ASSERT_TRUE(sites.ok()) << sites.status().toString();
  ASSERT_EQ(sites->size(), 2u);
  EXPECT_EQ((*sites)[0], fx.sites[0]);
  EXPECT_EQ((*sites)[1], fx.sites[1]);
}

TEST(CoordinatorStore, ApplyUpsertsAndIsIdempotent) {
  TestDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  Effects fx;
  fx.jobs = {queuedJob(1)};
  fx.sites = {fullSite()};
  fx.decisions = {decision("j-1", 1, 5000, "mimer")};
  ASSERT_TRUE((*store)->apply(fx, {}).ok());
  ASSERT_TRUE((*store)->apply(fx, {}).ok());  // a retried batch changes nothing
  EXPECT_EQ((*store)->loadJobs().value(), fx.jobs);
  EXPECT_EQ((*store)->loadSites().value(), fx.sites);
  EXPECT_EQ((*store)->decisions("j-1").value(), fx.decisions);

  // A later version of the same job and site replaces the stored one.
  Effects later;
  JobRecord job = fullJob(1);
  SiteRecord site = fullSite();
  site.capacity.reset();
  site.last_heard.reset();
  site.state = SiteState::kUp;
  later.jobs = {job};
  later.sites = {site};
  ASSERT_TRUE((*store)->apply(later, {}).ok());
  EXPECT_EQ((*store)->loadJobs().value(), later.jobs);
  EXPECT_EQ((*store)->loadSites().value(), later.sites);
}

TEST(CoordinatorStore, ApplyIsAllOrNothing) {
  TestDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  JobRecord bad = queuedJob(2);
  bad.id = "job-2";  // not "j-<seq>"
  Effects fx;
  fx.jobs = {queuedJob(1), bad};
  fx.sites = {fullSite()};
  Status s = (*store)->apply(fx, {});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.toString();
  EXPECT_NE(s.message().find("job-2"), std::string::npos);
  EXPECT_TRUE((*store)->loadJobs().value().empty());
  EXPECT_TRUE((*store)->loadSites().value().empty());
}

TEST(CoordinatorStore, NextJobSeqFollowsTheHighestStoredSeq) {
  TestDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  Effects fx;
  fx.jobs = {queuedJob(10), queuedJob(9), queuedJob(100)};
  ASSERT_TRUE((*store)->apply(fx, {}).ok());
  EXPECT_EQ((*store)->nextJobSeq().value(), 101);
  // Loaded in sequence (submission) order, numerically rather than as text.
  auto jobs = (*store)->loadJobs().value();
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].id, "j-9");
  EXPECT_EQ(jobs[1].id, "j-10");
  EXPECT_EQ(jobs[2].id, "j-100");
}

TEST(CoordinatorStore, DecisionsComeBackOldestFirstPerJob) {
  TestDir dir;
  Effects first;
  first.jobs = {queuedJob(1), queuedJob(2)};
  first.decisions = {decision("j-1", 0, 3000, ""), decision("j-2", 1, 3000, "mimer")};
  Effects second;
  second.decisions = {decision("j-1", 1, 4000, "mimer"), decision("j-1", 0, 1000, "")};
  second.decisions[1].verdicts.clear();  // a decision in an empty federation
  {
    auto store = openStore(dir);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->apply(first, {}).ok());
    ASSERT_TRUE((*store)->apply(second, {}).ok());
  }
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  auto decisions = (*store)->decisions("j-1");
  ASSERT_TRUE(decisions.ok()) << decisions.status().toString();
  ASSERT_EQ(decisions->size(), 3u);
  EXPECT_EQ((*decisions)[0], second.decisions[1]);  // decided at 1000
  EXPECT_EQ((*decisions)[1], first.decisions[0]);   // 3000
  EXPECT_EQ((*decisions)[2], second.decisions[0]);  // 4000, verdict doubles bit-exact
  EXPECT_EQ((*store)->decisions("j-2").value(), std::vector{first.decisions[1]});
  EXPECT_TRUE((*store)->decisions("j-3").value().empty());
}

TEST(CoordinatorStore, RefusesAnAgentDatabase) {
  TestDir dir;
  const std::string path = dir.file("agent.db");
  ASSERT_TRUE(agent::AgentStore::open(path).ok());
  auto store = CoordinatorStore::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(store.status().message().find("not an aifed coordinator database"), std::string::npos)
      << store.status().message();
}

TEST(CoordinatorStore, RefusesANewerSchema) {
  TestDir dir;
  const std::string path = dir.file("coordinator.db");
  { ASSERT_TRUE(CoordinatorStore::open(path, /*create=*/true).ok()); }
  // Pretend a later build migrated the file further.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);

  auto store = CoordinatorStore::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(store.status().message().find("newer"), std::string::npos);
}

// kUnavailable once the busy timeout runs out is checked on the Database itself
// (tests/store/database_test.cpp) with a short timeout; here: a lock held briefly by
// another connection is waited for rather than reported.
TEST(CoordinatorStore, WaitsForAShortLockHeldElsewhere) {
  TestDir dir;
  const std::string path = dir.file("coordinator.db");
  auto store = CoordinatorStore::open(path, /*create=*/true);
  ASSERT_TRUE(store.ok());
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  std::thread holder([raw] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr);
  });
  Effects fx;
  fx.jobs = {queuedJob(1)};
  Status s = (*store)->apply(fx, {});
  holder.join();
  sqlite3_close(raw);
  EXPECT_TRUE(s.ok()) << s.toString();
  EXPECT_EQ((*store)->loadJobs().value().size(), 1u);
}


}  // namespace
}  // namespace aifed::store

namespace aifed::store {
namespace {

TEST(CoordinatorStore, PolicyChangesRoundTripInOrderAndIdempotently) {
  TestDir dir;
  broker::Effects fx;
  fx.policy_changes.push_back({at(10), "earliest-start", "green", 2, "admin", "cheap wind"});
  fx.policy_changes.push_back({at(20), "green", "balanced", 1, "", ""});
  {
    auto store = openStore(dir);
    ASSERT_TRUE(store.ok()) << store.status().toString();
    ASSERT_TRUE((*store)->apply(fx, {}).ok());
    ASSERT_TRUE((*store)->apply(fx, {}).ok());  // the same effects again: no copies
  }
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->policyChanges().value(), fx.policy_changes);
}

identity::TokenRecord tokenRecord(const std::string& id, identity::Role role,
                                  std::vector<std::string> scope) {
  identity::TokenRecord t;
  t.id = id;
  t.name = "token " + id;
  t.user = "user-" + id;
  t.role = role;
  t.scope = std::move(scope);
  t.secret_sha256 = identity::sha256Hex("secret of " + id);
  t.created_at = at(1000 + static_cast<int64_t>(id.back()));
  t.created_by = "bootstrap";
  return t;
}

TEST(CoordinatorStore, TokensRoundTripAcrossReopenAndUpdateInPlace) {
  TestDir dir;
  identity::TokenRecord admin = tokenRecord("00000000000a", identity::Role::kAdmin, {});
  identity::TokenRecord sub = tokenRecord("00000000000b", identity::Role::kSubmitter, {"p1", "p2"});
  sub.last_used_at = at(5000);
  {
    auto store = openStore(dir);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->saveToken(admin).ok());
    ASSERT_TRUE((*store)->saveToken(sub).ok());
    sub.revoked_at = at(6000);  // revoke: the same row, updated
    ASSERT_TRUE((*store)->saveToken(sub).ok());
  }
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  std::vector<identity::TokenRecord> tokens = (*store)->loadTokens().value();
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0], admin);
  EXPECT_EQ(tokens[1], sub);
}

identity::AuditRecord auditRow(int64_t ms, std::string actor, std::string action,
                               std::string outcome) {
  identity::AuditRecord a;
  a.at = at(ms);
  a.actor = std::move(actor);
  a.actor_name = "name of " + a.actor;
  a.role = "operator";
  a.action = std::move(action);
  a.target = "mimer";
  a.remote_address = "127.0.0.1:4000";
  a.outcome = std::move(outcome);
  a.detail = "because";
  a.on_behalf_of = a.action == "job.submit" ? "alice" : "";
  return a;
}

TEST(CoordinatorStore, AuditRowsCommitWithTheEffectsTheyDescribe) {
  TestDir dir;
  {
    auto store = openStore(dir);
    ASSERT_TRUE(store.ok());
    Effects fx;
    fx.jobs = {queuedJob(1)};
    ASSERT_TRUE((*store)->apply(fx, {auditRow(10, "aaaaaaaaaaaa", "job.submit", "ok")}).ok());
    // A failing batch loses its audit row with everything else: nothing half-recorded.
    JobRecord bad = queuedJob(2);
    bad.id = "job-2";
    Effects broken;
    broken.jobs = {bad};
    EXPECT_FALSE((*store)->apply(broken, {auditRow(11, "aaaaaaaaaaaa", "job.submit", "ok")}).ok());
    // Audit rows alone (a refused request) are a batch of their own.
    ASSERT_TRUE((*store)
                    ->apply(Effects{}, {auditRow(12, "bbbbbbbbbbbb", "site.drain", "denied"),
                                        auditRow(13, "aaaaaaaaaaaa", "site.resume", "ok")})
                    .ok());
  }
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  std::vector<identity::AuditRecord> all = (*store)->audit({}).value();
  ASSERT_EQ(all.size(), 3u);
  // Newest first, with ids assigned by the store.
  EXPECT_EQ(all[0].action, "site.resume");
  EXPECT_EQ(all[2].action, "job.submit");
  identity::AuditRecord expected = auditRow(10, "aaaaaaaaaaaa", "job.submit", "ok");
  expected.id = all[2].id;
  EXPECT_EQ(all[2], expected);
  EXPECT_GT(all[0].id, all[1].id);
}

AuditQuery query(size_t limit, int64_t before, std::string actor, std::string action) {
  AuditQuery q;
  q.limit = limit;
  q.before = before;
  q.actor = std::move(actor);
  q.action = std::move(action);
  return q;
}

TEST(CoordinatorStore, AuditQueriesFilterAndPage) {
  TestDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  std::vector<identity::AuditRecord> rows;
  for (int i = 0; i < 10; ++i) {
    rows.push_back(auditRow(i, i % 2 ? "aaaaaaaaaaaa" : "bbbbbbbbbbbb",
                            i % 3 ? "job.submit" : "site.drain", "ok"));
  }
  ASSERT_TRUE((*store)->apply(Effects{}, rows).ok());
  EXPECT_EQ((*store)->audit(query(100, 0, "aaaaaaaaaaaa", "")).value().size(), 5u);
  EXPECT_EQ((*store)->audit(query(100, 0, "", "site.drain")).value().size(), 4u);  // 0, 3, 6, 9
  EXPECT_EQ((*store)->audit(query(100, 0, "", "site.")).value().size(), 4u);       // a prefix
  EXPECT_EQ((*store)->audit(query(100, 0, "", "site")).value().size(), 0u);        // not a prefix
  std::vector<identity::AuditRecord> page1 = (*store)->audit(query(4, 0, "", "")).value();
  ASSERT_EQ(page1.size(), 4u);
  std::vector<identity::AuditRecord> page2 =
      (*store)->audit(query(4, page1.back().id, "", "")).value();
  ASSERT_EQ(page2.size(), 4u);
  EXPECT_EQ(page2.front().id, page1.back().id - 1);
  EXPECT_EQ((*store)->audit(query(4, page2.back().id, "", "")).value().size(), 2u);
}

// A database written by an older schema (3) gains the tokens, audit, quarantine and
// federation tables and the attempt's site details, and keeps its jobs.
TEST(CoordinatorStore, MigratesASchema3DatabaseForward) {
  TestDir dir;
  const std::string path = dir.file("coordinator.db");
  {
    auto store = CoordinatorStore::open(path, /*create=*/true);
    ASSERT_TRUE(store.ok());
    Effects fx;
    fx.jobs = {queuedJob(1)};
    ASSERT_TRUE((*store)->apply(fx, {}).ok());
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         kUndoSchema11 "DROP TABLE tokens; DROP TABLE audit_log; DROP TABLE quarantine; "
                         "DROP TABLE federation; ALTER TABLE jobs DROP COLUMN status_seq; "
                         "ALTER TABLE jobs DROP COLUMN local_user; "
                         "ALTER TABLE jobs DROP COLUMN account; "
                         "ALTER TABLE jobs DROP COLUMN stdout_path; "
                         "ALTER TABLE jobs DROP COLUMN stderr_path; "
                         "ALTER TABLE jobs DROP COLUMN site_usage; DROP TABLE counters; "
                         "ALTER TABLE sites DROP COLUMN drain_reason; "
                         "ALTER TABLE sites DROP COLUMN drained_by; "
                         "ALTER TABLE sites DROP COLUMN drained_at; "
                         "ALTER TABLE sites DROP COLUMN maintenance; "
                         "ALTER TABLE sites DROP COLUMN maintenance_retired; "
                         "DROP TABLE site_samples; DROP TABLE site_events; "
                         "PRAGMA user_version = 3",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto store = CoordinatorStore::open(path);
  ASSERT_TRUE(store.ok()) << store.status().toString();
  EXPECT_EQ((*store)->schemaVersion().value(), 11);
  // A database from before the federation's identity was recorded holds its records:
  // the coordinator adopts it (coordinator_daemon.cpp, checkFederation).
  EXPECT_TRUE((*store)->holdsRecords().value());
  EXPECT_EQ((*store)->loadJobs().value().size(), 1u);
  ASSERT_TRUE((*store)->saveToken(tokenRecord("00000000000c", identity::Role::kViewer, {})).ok());
  EXPECT_EQ((*store)->loadTokens().value().size(), 1u);
}

// Schema 8: a site stored by schema 7 comes back with no windows and no drain details;
// the window counter starts at 1 and never moves back.
TEST(CoordinatorStore, MigratesSchema7SitesAndKeepsTheWindowCounter) {
  TestDir dir;
  const std::string path = dir.file("coordinator.db");
  {
    auto store = CoordinatorStore::open(path, /*create=*/true);
    ASSERT_TRUE(store.ok());
    Effects fx;
    fx.sites = {fullSite()};
    ASSERT_TRUE((*store)->apply(fx, {}).ok());
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         kUndoSchema11 "DROP TABLE counters; ALTER TABLE sites DROP COLUMN drain_reason; "
                         "ALTER TABLE sites DROP COLUMN drained_by; "
                         "ALTER TABLE sites DROP COLUMN drained_at; "
                         "ALTER TABLE sites DROP COLUMN maintenance; "
                         "ALTER TABLE sites DROP COLUMN maintenance_retired; "
                         "ALTER TABLE tokens DROP COLUMN user; "
                         "ALTER TABLE audit_log DROP COLUMN on_behalf_of; "
                         "DROP TABLE site_samples; DROP TABLE site_events; "
                         "PRAGMA user_version = 7",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto store = CoordinatorStore::open(path);
  ASSERT_TRUE(store.ok()) << store.status().toString();
  EXPECT_EQ((*store)->schemaVersion().value(), 11);
  auto sites = (*store)->loadSites();
  ASSERT_TRUE(sites.ok()) << sites.status().toString();
  ASSERT_EQ(sites->size(), 1u);
  EXPECT_TRUE((*sites)[0].drained);
  EXPECT_EQ((*sites)[0].drain_reason, "");
  EXPECT_TRUE((*sites)[0].maintenance.empty());
  EXPECT_EQ((*store)->nextWindowSeq().value(), 1);
  Effects fx;
  fx.next_window_seq = 9;
  ASSERT_TRUE((*store)->apply(fx, {}).ok());
  fx.next_window_seq = 4;  // an older batch's value never lowers it
  ASSERT_TRUE((*store)->apply(fx, {}).ok());
  EXPECT_EQ((*store)->nextWindowSeq().value(), 9);
}

// A missing or empty file is no database: opening it without `create` (--init) is refused,
// naming what to do, and leaves no file behind.
TEST(CoordinatorStore, AnEmptyOrMissingDatabaseIsRefusedUnlessCreating) {
  TestDir dir;
  const std::string missing = dir.file("missing.db");
  auto refused = CoordinatorStore::open(missing);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("--init"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(missing));
  const std::string empty = dir.file("empty.db");
  { std::ofstream touch(empty); }
  refused = CoordinatorStore::open(empty);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("empty"), std::string::npos);
  EXPECT_TRUE(CoordinatorStore::open(empty, /*create=*/true).ok());
}

TEST(CoordinatorStore, TheFederationIdentityIsMadeOnceAndKept) {
  TestDir dir;
  const std::string path = dir.file("coordinator.db");
  {
    auto store = CoordinatorStore::open(path, /*create=*/true);
    ASSERT_TRUE(store.ok());
    Result<FederationIdentity> made = (*store)->initialise("eurohpc", fromMillis(7));
    ASSERT_TRUE(made.ok()) << made.status().toString();
    EXPECT_EQ(made->id.size(), 32u);
    EXPECT_EQ((*store)->initialise("other", fromMillis(8)).status().code(),
              StatusCode::kFailedPrecondition);
  }
  auto store = CoordinatorStore::open(path);
  ASSERT_TRUE(store.ok());
  std::optional<FederationIdentity> id = (*store)->federationIdentity().value();
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->name, "eurohpc");
  EXPECT_EQ(id->created_at, fromMillis(7));
}

TEST(CoordinatorStore, QuarantineAndStatusSeqRoundTripAndQuarantinedIdsAreNeverReused) {
  TestDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  Effects fx;
  JobRecord j = queuedJob(3);
  j.status_seq = 42;
  fx.jobs = {j};
  broker::QuarantinedJob q;
  q.site = "mimer";
  q.job_id = "j-90";
  q.attempt = 2;
  q.local_id = "884";
  q.state = JobState::kRunning;
  q.first_seen = fromMillis(10);
  q.last_seen = fromMillis(20);
  q.decision = "cancel";
  q.decided_by = "alice";
  q.decided_at = fromMillis(30);
  fx.quarantined = {q};
  ASSERT_TRUE((*store)->apply(fx, {}).ok());
  EXPECT_EQ((*store)->loadJobs().value().at(0).status_seq, 42u);
  std::vector<broker::QuarantinedJob> back = (*store)->loadQuarantined().value();
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0], q);
  EXPECT_EQ((*store)->nextJobSeq().value(), 91);  // above j-90, held by a site
}

// Schema 9 gives each token a user: a token made before it gets its name when that is a
// valid user name, "" otherwise (docs/security.md, "Job owners").
TEST(CoordinatorStore, MigratesTokensToUsersAtSchema9) {
  TestDir dir;
  const std::string path = dir.file("coordinator.db");
  {
    auto store = CoordinatorStore::open(path, /*create=*/true);
    ASSERT_TRUE(store.ok());
    identity::TokenRecord alice = tokenRecord("00000000000a", identity::Role::kSubmitter, {"p1"});
    alice.name = "alice";
    identity::TokenRecord ci = tokenRecord("00000000000b", identity::Role::kViewer, {});
    ci.name = "ci bot";  // a space: not a user name
    ASSERT_TRUE((*store)->saveToken(alice).ok());
    ASSERT_TRUE((*store)->saveToken(ci).ok());
    ASSERT_TRUE((*store)->apply(Effects{}, {auditRow(10, "00000000000a", "job.submit", "ok")}).ok());
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         kUndoSchema11 "ALTER TABLE tokens DROP COLUMN user; "
                         "ALTER TABLE audit_log DROP COLUMN on_behalf_of; "
                         "DROP TABLE site_samples; DROP TABLE site_events; PRAGMA user_version = 8",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto store = CoordinatorStore::open(path);
  ASSERT_TRUE(store.ok()) << store.status().toString();
  EXPECT_EQ((*store)->schemaVersion().value(), 11);
  std::vector<identity::TokenRecord> tokens = (*store)->loadTokens().value();
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].user, "alice");
  EXPECT_EQ(tokens[1].user, "");
  std::vector<identity::AuditRecord> rows = (*store)->audit({}).value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].on_behalf_of, "");
}

broker::ArrayRecord arrayRecord(int64_t seq) {
  return {"a-" + std::to_string(seq), "sweep", "nordic-llm", "alice", at(1'700'000'000'000),
          "0-999:2,1001", 50, 501};
}

TEST(CoordinatorStore, ArraysAndTheirCounterRoundTripAcrossReopen) {
  TestDir dir;
  {
    auto store = openStore(dir);
    ASSERT_TRUE(store.ok());
    EXPECT_TRUE((*store)->loadArrays().value().empty());
    EXPECT_EQ((*store)->nextArraySeq().value(), 1);
    Effects fx;
    fx.arrays = {arrayRecord(1), arrayRecord(2)};
    fx.next_array_seq = 3;
    fx.jobs = {fullJob(1)};
    ASSERT_TRUE((*store)->apply(fx, {}).ok());
    Effects older;  // a batch carrying an older counter never lowers it
    older.next_array_seq = 2;
    ASSERT_TRUE((*store)->apply(older, {}).ok());
  }
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  std::vector<broker::ArrayRecord> arrays = (*store)->loadArrays().value();
  ASSERT_EQ(arrays.size(), 2u);
  EXPECT_EQ(arrays[0], arrayRecord(1));
  EXPECT_EQ(arrays[1], arrayRecord(2));
  EXPECT_EQ((*store)->nextArraySeq().value(), 3);
  EXPECT_EQ((*store)->loadJobs().value()[0].array_id, "a-7");
}

// Schema 11: jobs stored by schema 10 come back as ordinary jobs (no array), and arrays
// can be stored at once.
TEST(CoordinatorStore, MigratesSchema10JobsToArrays) {
  TestDir dir;
  const std::string path = dir.file("coordinator.db");
  JobRecord plain = fullJob(1);
  plain.array_id.clear();
  plain.array_index = 0;
  {
    auto store = CoordinatorStore::open(path, /*create=*/true);
    ASSERT_TRUE(store.ok());
    Effects fx;
    fx.jobs = {plain};
    ASSERT_TRUE((*store)->apply(fx, {}).ok());
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         kUndoSchema11 "PRAGMA user_version = 10",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto store = CoordinatorStore::open(path);
  ASSERT_TRUE(store.ok()) << store.status().toString();
  EXPECT_EQ((*store)->schemaVersion().value(), 11);
  std::vector<JobRecord> jobs = (*store)->loadJobs().value();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0], plain);
  EXPECT_EQ((*store)->nextArraySeq().value(), 1);
  Effects fx;
  fx.arrays = {arrayRecord(1)};
  fx.next_array_seq = 2;
  ASSERT_TRUE((*store)->apply(fx, {}).ok());
  EXPECT_EQ((*store)->loadArrays().value().size(), 1u);
}

}  // namespace
}  // namespace aifed::store
