// The agent's handling of DISPATCH and CANCEL (site-agent/job_commands.h), which the
// daemon and the simulator's sites share, against a real SimulatedBackend and a ledger
// whose writes can be made to fail.
#include "site-agent/job_commands.h"

#include <gtest/gtest.h>

#include <map>

#include "site-agent/backends/simulated_backend.h"

namespace aifed::agent {
namespace {

class FakeLedger final : public DispatchLedger {
 public:
  // DispatchLedger
  Result<std::optional<DispatchRecord>> findDispatch(const JobTag& tag) override {
    if (fail_reads) return unavailable("database is locked");
    auto it = records.find({tag.job_id, tag.attempt});
    if (it == records.end()) return std::optional<DispatchRecord>();
    return std::optional<DispatchRecord>(it->second);
  }
  Status saveDispatch(const DispatchRecord& r) override {
    if (fail_writes) return unavailable("disk full");
    records[{r.tag.job_id, r.tag.attempt}] = r;
    return Status::Ok();
  }

  std::map<std::pair<std::string, int>, DispatchRecord> records;
  bool fail_reads = false;
  bool fail_writes = false;
};

JobSpec spec(int nodes) {
  JobSpec s;
  s.project = "p";
  s.nodes = nodes;
  s.gpus_per_node = 4;
  s.gpu_type = "h100";
  s.walltime = std::chrono::hours(1);
  return s;
}

// One partition of 2 nodes x 4 h100.
std::unique_ptr<SimulatedBackend> twoNodes() {
  PartitionConfig p;
  p.name = "gpu";
  p.nodes = 2;
  p.node_type = NodeType{"h100", 4, 64, 512};
  return SimulatedBackend::create({p}).value();
}

class JobCommandsTest : public ::testing::Test {
 protected:
  Time at(int64_t s) { return fromMillis(1'800'000'000'000 + s * 1000); }

  std::unique_ptr<SimulatedBackend> backend_ = twoNodes();
  FakeLedger ledger_;
  JobCommands commands_{*backend_, ledger_};
};

TEST_F(JobCommandsTest, ARepeatedDispatchIsAnsweredAsBeforeAndNeverSubmittedTwice) {
  std::optional<DispatchAck> first = commands_.dispatch({"j-1", 1, spec(1)}, at(0));
  ASSERT_TRUE(first && first->accepted);
  std::optional<DispatchAck> again = commands_.dispatch({"j-1", 1, spec(1)}, at(5));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(backend_->activeJobs().size(), 1u);
  EXPECT_EQ(commands_.stats().duplicates, 1u);
  // The record was written before the scheduler saw the job, then completed.
  const DispatchRecord& r = ledger_.records.at({"j-1", 1});
  EXPECT_TRUE(r.accepted);
  EXPECT_EQ(r.local_id, first->local_id);
  EXPECT_EQ(r.received_at, at(0));
}

TEST_F(JobCommandsTest, NoAnswerWhileTheRecordsCannotBeReadOrWritten) {
  ledger_.fail_reads = true;
  EXPECT_FALSE(commands_.dispatch({"j-1", 1, spec(1)}, at(0)).has_value());
  ledger_.fail_reads = false;
  ledger_.fail_writes = true;
  EXPECT_FALSE(commands_.dispatch({"j-1", 1, spec(1)}, at(0)).has_value());
  EXPECT_TRUE(backend_->activeJobs().empty());  // nothing reached the scheduler
}

TEST_F(JobCommandsTest, ARefusalIsRecordedAndRepeated) {
  std::optional<DispatchAck> ack = commands_.dispatch({"j-1", 1, spec(8)}, at(0));
  ASSERT_TRUE(ack.has_value());
  EXPECT_FALSE(ack->accepted);
  EXPECT_FALSE(ack->reason.empty());
  EXPECT_EQ(ledger_.records.at({"j-1", 1}).state, JobState::kFailed);
  std::optional<DispatchAck> again = commands_.dispatch({"j-1", 1, spec(8)}, at(1));
  EXPECT_EQ(*again, *ack);
}

TEST_F(JobCommandsTest, AWithdrawalCancelsOnlyAJobThatStillWaits) {
  ASSERT_TRUE(commands_.dispatch({"j-1", 1, spec(2)}, at(0))->accepted);  // runs
  ASSERT_TRUE(commands_.dispatch({"j-2", 1, spec(2)}, at(0))->accepted);  // waits
  (void)backend_->poll(at(1));
  Cancel running{"j-1", 1, "withdrawn by the coordinator"};
  running.only_if_pending = true;
  bool refreshed = false;
  CancelOutcome out = commands_.cancel(running, at(1), [&] { refreshed = true; });
  EXPECT_TRUE(refreshed);
  EXPECT_TRUE(out.acknowledge);
  EXPECT_FALSE(out.cancelled);
  Cancel waiting = running;
  waiting.job_id = "j-2";
  out = commands_.cancel(waiting, at(1));
  EXPECT_TRUE(out.acknowledge && out.cancelled && out.withdrawn);
  EXPECT_TRUE(commands_.takeWithdrawn({"j-2", 1}));
  EXPECT_FALSE(commands_.takeWithdrawn({"j-2", 1}));  // once
}

TEST_F(JobCommandsTest, ACancelOfAnUnknownOrEndedAttemptIsAcknowledgedAndDoesNothing) {
  CancelOutcome out = commands_.cancel({"j-9", 1, "cancelled by user"}, at(0));
  EXPECT_TRUE(out.acknowledge);
  EXPECT_FALSE(out.cancelled);
  ASSERT_TRUE(commands_.dispatch({"j-1", 1, spec(1)}, at(0))->accepted);
  out = commands_.cancel({"j-1", 2, "cancelled by user"}, at(0));  // another attempt
  EXPECT_FALSE(out.cancelled);
  out = commands_.cancel({"j-1", 1, "cancelled by user"}, at(0));
  EXPECT_TRUE(out.cancelled);
}

TEST(JobStatusOf, CarriesEveryFieldOfTheUpdate) {
  LocalJobUpdate u;
  u.tag = {"j-3", 2};
  u.local_id = "sim-7";
  u.state = JobState::kCompleted;
  u.submitted_at = fromMillis(1);
  u.started_at = fromMillis(2);
  u.ended_at = fromMillis(3);
  u.exit_code = 0;
  u.reason = "done";
  JobStatus s = statusOf(u);
  EXPECT_EQ(s, (JobStatus{"j-3", 2, "sim-7", JobState::kCompleted, fromMillis(1), fromMillis(2),
                          fromMillis(3), 0, "done"}));
}

}  // namespace
}  // namespace aifed::agent
