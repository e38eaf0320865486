#include "site-agent/agent_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "coordinator/store/coordinator_store.h"
#include "tests/store/test_dir.h"

namespace aifed::agent {
namespace {

using testing_support::TestDir;
using namespace std::chrono_literals;

JobSpec spec(const std::string& name) {
  JobSpec s;
  s.name = name;
  s.project = "nordic-llm";
  s.user = "alice";
  s.nodes = 2;
  s.gpus_per_node = 4;
  s.gpu_type = "mi250x";
  s.walltime = 2h;
  s.allowed_countries = {"FI"};
  s.script = "#!/bin/bash\nsrun ./finetune\n";
  s.env = {{"SEED", "7"}};
  s.simulated_runtime = 30min;
  s.simulated_exit_code = 1;
  return s;
}

DispatchRecord dispatch(const std::string& job_id, int attempt, JobState state,
                        const std::string& local_id, int64_t received_ms) {
  DispatchRecord r;
  r.tag = JobTag{.job_id = job_id, .attempt = attempt};
  r.spec = spec("job-" + job_id);
  r.accepted = true;
  r.local_id = local_id;
  r.state = state;
  r.received_at = fromMillis(received_ms);
  r.updated_at = fromMillis(received_ms + 17);
  return r;
}

Result<std::unique_ptr<AgentStore>> openStore(const TestDir& dir) {
  return AgentStore::open(dir.file("agent.db"));
}

std::vector<std::string> ids(const std::vector<OutboxEntry>& entries) {
  std::vector<std::string> out;
  for (const OutboxEntry& e : entries) out.push_back(e.msg_id);
  return out;
}

TEST(AgentStore, DispatchRoundTripsEveryFieldAcrossReopen) {
  TestDir dir;
  DispatchRecord accepted = dispatch("j-1", 2, JobState::kRunning, "98765", 1'700'000'000'001);
  accepted.status_seq = 3;
  accepted.started_at = fromMillis(1'700'000'000'500);
  accepted.spec.partition = "gpu";
  accepted.identity = {.user = "alice_l",
                       .uid = 5001,
                       .gid = 5001,
                       .account = "nordic-llm",
                       .partition = "gpu",
                       .qos = "normal"};
  accepted.stdout_path = "/scratch/alice_l/aifed-j-1-2.out";
  accepted.stderr_path = "/scratch/alice_l/aifed-j-1-2.err";
  DispatchRecord rejected = dispatch("j-2", 1, JobState::kPending, "", 1'700'000'000'002);
  rejected.accepted = false;
  rejected.reason = "partition \"gpu\" is closed for maintenance";
  {
    auto store = openStore(dir);
    ASSERT_TRUE(store.ok()) << store.status().toString();
    ASSERT_TRUE((*store)->saveDispatch(accepted).ok());
    ASSERT_TRUE((*store)->saveDispatch(rejected).ok());
  }
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok()) << store.status().toString();
  auto found = (*store)->findDispatch(accepted.tag);
  ASSERT_TRUE(found.ok()) << found.status().toString();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, accepted);
  EXPECT_EQ((*store)->findDispatch(rejected.tag).value(), rejected);
  // Another attempt of the same job is another dispatch.
  EXPECT_EQ((*store)->findDispatch(JobTag{.job_id = "j-1", .attempt = 1}).value(), std::nullopt);
  EXPECT_EQ((*store)->findDispatch(JobTag{.job_id = "j-9", .attempt = 1}).value(), std::nullopt);
}

// A store written before the site details existed (schema 3) opens, keeps its records and
// reads them with empty details.
TEST(AgentStore, ASchema3StoreIsMigratedForward) {
  TestDir dir;
  {
    auto store = openStore(dir);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->saveDispatch(dispatch("j-7", 1, JobState::kRunning, "4711", 1)).ok());
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("agent.db").c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "DROP INDEX dispatches_usage_due", nullptr, nullptr, nullptr),
            SQLITE_OK);
  for (const char* column : {"rule", "usage_reported", "local_user", "uid", "gid", "account", "partition_name", "qos",
                             "stdout_path", "stderr_path"}) {
    std::string sql = std::string("ALTER TABLE dispatches DROP COLUMN ") + column;
    ASSERT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << column;
  }
  ASSERT_EQ(sqlite3_exec(raw, "DROP TABLE maintenance_windows; PRAGMA user_version = 3", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok()) << store.status().toString();
  auto back = (*store)->findDispatch({"j-7", 1});
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->local_id, "4711");
  EXPECT_EQ((*back)->identity, LocalIdentity{});
  EXPECT_TRUE((*back)->stdout_path.empty());
  // Attempts from before JOB_USAGE have no usage to report (schema 5).
  EXPECT_TRUE((*back)->usage_reported);
  EXPECT_TRUE((*back)->rule.empty());
  EXPECT_TRUE((*store)->loadMaintenance().value().windows.empty());
}

// Schema 6: the maintenance windows the coordinator sent, whole lists, across reopens.
TEST(AgentStore, MaintenanceWindowsReplaceTheWholeListAndSurviveReopen) {
  TestDir dir;
  Maintenance m;
  m.windows = {{"mw-3", fromMillis(1'000'000), fromMillis(2'000'000), "Slurm upgrade", "ops"},
               {"mw-5", fromMillis(3'000'000), fromMillis(4'000'000), "power", "admin"}};
  m.grace = std::chrono::minutes(30);
  {
    auto store = openStore(dir);
    ASSERT_TRUE(store.ok());
    Result<Maintenance> none = (*store)->loadMaintenance();
    ASSERT_TRUE(none.ok()) << none.status().toString();
    EXPECT_EQ(*none, Maintenance{});
    ASSERT_TRUE((*store)->saveMaintenance(m).ok());
  }
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->loadMaintenance().value(), m);
  Maintenance fewer{{m.windows[1]}, std::chrono::minutes(5)};
  ASSERT_TRUE((*store)->saveMaintenance(fewer).ok());
  EXPECT_EQ((*store)->loadMaintenance().value(), fewer);
}

TEST(AgentStore, SaveDispatchReplacesTheRecordForItsTag) {
  TestDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  DispatchRecord r = dispatch("j-1", 1, JobState::kPending, "", 1000);
  ASSERT_TRUE((*store)->saveDispatch(r).ok());
  ASSERT_TRUE((*store)->saveDispatch(r).ok());  // idempotent
  r.local_id = "555";
  r.state = JobState::kRunning;
  r.updated_at = fromMillis(2000);
  ASSERT_TRUE((*store)->saveDispatch(r).ok());
  EXPECT_EQ((*store)->findDispatch(r.tag).value(), r);
  EXPECT_EQ((*store)->activeDispatches().value(), std::vector{r});
}

TEST(AgentStore, ActiveDispatchesAreAcceptedAndNotTerminal) {
  TestDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  DispatchRecord pending = dispatch("j-1", 1, JobState::kPending, "11", 1000);
  DispatchRecord running = dispatch("j-2", 1, JobState::kRunning, "12", 2000);
  DispatchRecord done = dispatch("j-3", 1, JobState::kCompleted, "13", 3000);
  DispatchRecord cancelled = dispatch("j-4", 1, JobState::kCancelled, "14", 4000);
  DispatchRecord refused = dispatch("j-5", 1, JobState::kPending, "", 5000);
  refused.accepted = false;
  refused.reason = "too large";
  for (const DispatchRecord& r : {running, done, pending, cancelled, refused}) {
    ASSERT_TRUE((*store)->saveDispatch(r).ok());
  }
  auto active = (*store)->activeDispatches();
  ASSERT_TRUE(active.ok()) << active.status().toString();
  EXPECT_EQ(*active, (std::vector{pending, running}));  // in order of receipt
}

TEST(AgentStore, FindByLocalIdFindsOnlyAcceptedDispatches) {
  TestDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  DispatchRecord running = dispatch("j-2", 1, JobState::kRunning, "12", 2000);
  DispatchRecord refused = dispatch("j-5", 1, JobState::kPending, "77", 5000);
  refused.accepted = false;
  DispatchRecord unsubmitted = dispatch("j-6", 1, JobState::kPending, "", 6000);
  for (const DispatchRecord& r : {running, refused, unsubmitted}) {
    ASSERT_TRUE((*store)->saveDispatch(r).ok());
  }
  EXPECT_EQ((*store)->findByLocalId("12").value(), running);
  EXPECT_EQ((*store)->findByLocalId("77").value(), std::nullopt);
  EXPECT_EQ((*store)->findByLocalId("").value(), std::nullopt);
  EXPECT_EQ((*store)->findByLocalId("999").value(), std::nullopt);
}

TEST(AgentStore, OutboxKeepsInsertionOrderAcrossAcksAndReopen) {
  TestDir dir;
  {
    auto store = openStore(dir);
    ASSERT_TRUE(store.ok());
    // created_at deliberately not monotonic: order is insertion order.
    for (auto [id, ms] : {std::pair{"m-b", 300}, std::pair{"m-a", 100}, std::pair{"m-c", 200}}) {
      OutboxEntry e{.msg_id = id,
                    .frame = std::string("{\"msg_id\":\"") + id + "\"}",
                    .created_at = fromMillis(ms)};
      ASSERT_TRUE((*store)->enqueueOutbox(e).ok());
    }
    ASSERT_TRUE((*store)->acknowledgeOutbox("m-a").ok());
    ASSERT_TRUE((*store)->acknowledgeOutbox("m-a").ok());         // repeated ack
    ASSERT_TRUE((*store)->acknowledgeOutbox("never-sent").ok());  // unknown id
    ASSERT_TRUE((*store)->acknowledgeOutbox("m-c").ok());  // the newest: its slot is not reused
    ASSERT_TRUE((*store)
                    ->enqueueOutbox(
                        OutboxEntry{.msg_id = "m-d", .frame = "{}", .created_at = fromMillis(50)})
                    .ok());
    // Enqueueing an id again keeps the first entry where it was.
    ASSERT_TRUE((*store)
                    ->enqueueOutbox(OutboxEntry{
                        .msg_id = "m-b", .frame = "other", .created_at = fromMillis(999)})
                    .ok());
  }
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  auto pending = (*store)->pendingOutbox();
  ASSERT_TRUE(pending.ok()) << pending.status().toString();
  EXPECT_EQ(ids(*pending), (std::vector<std::string>{"m-b", "m-d"}));
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0],
            (OutboxEntry{
                .msg_id = "m-b", .frame = "{\"msg_id\":\"m-b\"}", .created_at = fromMillis(300)}));
}

TEST(AgentStore, EpochPersistsAndNeverMovesBack) {
  TestDir dir;
  {
    auto store = openStore(dir);
    ASSERT_TRUE(store.ok());
    EXPECT_EQ((*store)->loadEpoch().value(), 0u);
    ASSERT_TRUE((*store)->saveEpoch(41).ok());
    ASSERT_TRUE((*store)->saveEpoch(42).ok());
  }
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->loadEpoch().value(), 42u);
  ASSERT_TRUE((*store)->saveEpoch(7).ok());
  EXPECT_EQ((*store)->loadEpoch().value(), 42u);
  EXPECT_EQ((*store)->saveEpoch(UINT64_MAX).code(), StatusCode::kInvalidArgument);
}

TEST(AgentStore, DatabaseIsInWalMode) {
  TestDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(store.ok());
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("agent.db").c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(raw);
}

TEST(AgentStore, RefusesACoordinatorDatabase) {
  TestDir dir;
  const std::string path = dir.file("coordinator.db");
  ASSERT_TRUE(store::CoordinatorStore::open(path, /*create=*/true).ok());
  auto store = AgentStore::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(store.status().message().find("not an aifed agent database"), std::string::npos)
      << store.status().message();
}

}  // namespace
}  // namespace aifed::agent
