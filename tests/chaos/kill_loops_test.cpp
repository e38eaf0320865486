// Crash loops under a submission stream: the coordinator SIGKILLed five times, then each
// agent in turn. Every job a client was told 201 about ends exactly once, and no two
// attempts of a job run at the same time (the checker).
#include <signal.h>

#include <thread>

#include "tests/chaos/chaos_fixture.h"

namespace aifed::chaos {
namespace {

using namespace std::chrono_literals;

class KillLoopTest : public ChaosTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(prepare(chaosOptions()));
    ASSERT_NO_FATAL_FAILURE(startCoordinator());
    ASSERT_NO_FATAL_FAILURE(startAgents());
  }
};

TEST_F(KillLoopTest, CoordinatorKilledFiveTimesUnderAStream) {
  startStream(6);
  for (int round = 1; round <= 5; ++round) {
    std::this_thread::sleep_for(2500ms);
    killCoordinator();
    std::this_thread::sleep_for(500ms);
    ASSERT_TRUE(fed_->startCoordinator().ok()) << "round " << round;
  }
  std::this_thread::sleep_for(2s);
  stream().stop();
  EXPECT_GE(stream().answered(201), 30) << "the stream hardly got through";
  EXPECT_TRUE(waitDrained(120s)) << "not drained in 120 s";
  check(checkInput());
}

TEST_F(KillLoopTest, AgentsKilledInTurnUnderAStream) {
  startStream(6);
  const std::vector<std::string>& sites = fed_->sites();
  for (int round = 0; round < 6; ++round) {
    std::this_thread::sleep_for(2s);
    const std::string& site = sites[round % sites.size()];
    killAgent(site);
    std::this_thread::sleep_for(800ms);
    ASSERT_TRUE(fed_->startAgent(site).ok()) << site;
  }
  std::this_thread::sleep_for(2s);
  stream().stop();
  EXPECT_GE(stream().answered(201), 40);
  EXPECT_TRUE(waitDrained(120s)) << "not drained in 120 s";
  check(checkInput());
}

}  // namespace
}  // namespace aifed::chaos
