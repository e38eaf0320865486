// The fixture every chaos scenario starts from: a local federation of real daemons
// (tests/integration/local_federation_test.h) on the chaos federation file, short
// heartbeats, a submission stream, SIGKILLs recorded for the checker, a drain and the
// checker at the end.
//
//   TEST_F(ChaosTest, Something) {
//     ASSERT_NO_FATAL_FAILURE(prepare(chaosOptions()));
//     ASSERT_NO_FATAL_FAILURE(startCoordinator());
//     ASSERT_NO_FATAL_FAILURE(startAgents());
//     startStream(5);  ...  killAgent("site-a");  ...  stream().stop();
//     ASSERT_TRUE(waitDrained(60s));
//     check(checkInput());
//   }
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/chaos/checker.h"
#include "tests/chaos/submission_stream.h"
#include "tests/integration/local_federation_test.h"

namespace aifed::chaos {

std::string sourcePath(const std::string& relative);
// Where the daemons are: $AIFED_BIN_DIR (what ./aifed.sh test sets), else this build.
std::string binDir();
Time wallClockNow();

class ChaosTest : public testing::LocalFederationTest {
 protected:
  // The chaos federation (tests/chaos/federation-chaos.toml), speedup 60, heartbeats
  // every 200 ms (suspect after 0.6 s, unreachable after 1.2 s), retries every 500 ms.
  static cli::LocalFederationOptions chaosOptions();
  void prepare(cli::LocalFederationOptions o);
  // Starts the agents of `sites` (all when empty) and waits until the coordinator has
  // them up.
  void startAgents(std::vector<std::string> sites = {});
  bool waitSitesUp(const std::vector<std::string>& sites, std::chrono::milliseconds limit);
  std::map<std::string, std::string> siteStates();

  void startStream(double per_second, std::function<JobSpec(int)> make_spec = {},
                   const std::string& prefix = "");
  SubmissionStream& stream() { return *stream_; }

  // SIGKILL, recorded: a simulated site's jobs end with its agent.
  void killAgent(const std::string& site);
  void killCoordinator();

  // Until every job the coordinator's database holds and every attempt at a site is
  // terminal, or `limit` passes.
  bool waitDrained(std::chrono::seconds limit);
  // What the checker needs from this federation: the stream's submissions, the databases,
  // the agents' deaths.
  CheckInput checkInput() const;
  // Runs the checker, writes its report to <state>/checker-report.txt and stdout, and
  // fails the test (with the report) on any violation.
  void check(const CheckInput& in);

  bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit);
  boost::json::value getJson(const std::string& target);

  std::unique_ptr<SubmissionStream> stream_;
  std::map<std::string, std::vector<Time>> agent_kills_;
};

}  // namespace aifed::chaos
