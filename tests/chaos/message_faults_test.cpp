// Message loss, duplication and reordering on every process of the federation, injected
// at the transport (AIFED_FAULTS, protocol/transport/fault_injector.h): at-least-once
// delivery with acknowledgements must make each job end exactly once all the same.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/chaos/chaos_fixture.h"

namespace aifed::chaos {
namespace {

using namespace std::chrono_literals;

std::string readLog(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(ChaosTest, LossDuplicationAndReorderingOnEveryProcess) {
#ifndef AIFED_FAULT_INJECTION
  GTEST_SKIP() << "this build has no fault injection (configure with -DAIFED_FAULT_INJECTION=ON)";
#endif
  ASSERT_NO_FATAL_FAILURE(prepare(chaosOptions()));
  // AIFED_CHAOS_FAULTS replaces the plan for a run by hand (e.g. harsher rates).
  const char* by_hand = std::getenv("AIFED_CHAOS_FAULTS");
  const std::string plan = by_hand != nullptr ? by_hand : "drop=0.05,dup=0.05,reorder=0.05";
  int seed = 1;
  for (const std::string& name : {std::string("coordinator"), std::string("site-a"),
                                  std::string("site-b"), std::string("site-c")}) {
    fed_->setEnvironment(name, {{"AIFED_FAULTS", plan + ",seed=" + std::to_string(seed++)}});
  }
  ASSERT_NO_FATAL_FAILURE(startCoordinator());
  ASSERT_NO_FATAL_FAILURE(startAgents());
  startStream(5);
  std::this_thread::sleep_for(15s);
  stream().stop();
  EXPECT_GE(stream().answered(201), 50);
  EXPECT_TRUE(waitDrained(120s)) << "not drained in 120 s";
  for (const std::string& name : {std::string("coordinator"), std::string("site-a")}) {
    EXPECT_NE(readLog(fed_->logPath(name)).find("fault injection active"), std::string::npos)
        << name << " ran without faults";
  }
  check(checkInput());
}

}  // namespace
}  // namespace aifed::chaos
