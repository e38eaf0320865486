// The resent-status race, made deterministic: the agent dies right after sending
// JOB_STATUS(running) and before its ACK (AIFED_FAULTS crash_after_send). Restarted, it
// no longer has the job (a simulated backend dies with its agent) and reports it lost,
// while its outbox sends the old `running` again. The stale status must not move the job
// back: it is re-placed and ends exactly once, not `running` for ever.
#include <thread>

#include "common/files.h"
#include "tests/chaos/chaos_fixture.h"

namespace aifed::chaos {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

TEST_F(ChaosTest, AgentKilledAfterSendingRunningBeforeItsAck) {
#ifndef AIFED_FAULT_INJECTION
  GTEST_SKIP() << "this build has no fault injection (configure with -DAIFED_FAULT_INJECTION=ON)";
#endif
  ASSERT_NO_FATAL_FAILURE(prepare(chaosOptions()));
  fed_->setEnvironment("site-a", {{"AIFED_FAULTS", "crash_after_send=JOB_STATUS:running"}});
  ASSERT_NO_FATAL_FAILURE(startCoordinator());
  ASSERT_NO_FATAL_FAILURE(startAgents({"site-a"}));  // the job can only go there

  startStream(1, [](int) { return chaosJob(600); });  // 10 s at speedup 60
  ASSERT_TRUE(waitFor([&] { return !fed_->running("site-a"); }, 30s))
      << "site-a never sent JOB_STATUS(running)";
  agent_kills_["site-a"].push_back(wallClockNow());
  stream().stop();
  (void)fed_->stopAgent("site-a", SIGKILL);  // reaps it
  std::vector<Submission> before = stream().submissions();
  ASSERT_FALSE(before.empty());
  ASSERT_EQ(before.front().http_status, 201);
  const std::string id = before.front().job_id;

  fed_->setEnvironment("site-a", {{"AIFED_FAULTS", ""}});
  ASSERT_NO_FATAL_FAILURE(startAgents());
  startStream(3, [](int n) { return chaosJob(60 + n % 120); });
  std::this_thread::sleep_for(5s);
  stream().stop();

  EXPECT_TRUE(waitDrained(90s)) << "not drained: " << json::serialize(getJson("/api/v1/jobs/" + id));
  // The race's precondition: the restarted agent found the job gone from its backend.
  Result<std::string> log = common::readFile(fed_->logPath("site-a"));
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("job " + id + " attempt 1"), std::string::npos)
      << "site-a's log does not show " << id << " missing after the restart";
  json::value job = getJson("/api/v1/jobs/" + id);
  ASSERT_TRUE(job.is_object());
  EXPECT_EQ(std::string(job.at("state").as_string()), "completed") << json::serialize(job);
  EXPECT_GE(job.at("attempt").as_int64(), 2) << "the lost first attempt was not re-placed";
  check(checkInput());
}

}  // namespace
}  // namespace aifed::chaos
