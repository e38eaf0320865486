// `aifed logs` without a server: the order of requests --follow makes and what it prints,
// against scripted answers of the output route (the integration test runs it against a
// real coordinator and agents; this covers the turns a real run rarely takes: waiting
// for the first output, a job placed again, a site away for a while).
#include "cli/logs_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <deque>
#include <sstream>

#include "cli/commands.h"

namespace aifed::cli {
namespace {

using ::testing::ElementsAre;

// The answer of GET .../output.
HttpResult chunk(int attempt, const std::string& state, const std::string& data, uint64_t offset) {
  boost::json::object o{{"job_id", "j-7"},
                        {"attempt", attempt},
                        {"site", "mimer"},
                        {"state", state},
                        {"stream", "stdout"},
                        {"path", "/x"},
                        {"size", offset + data.size()},
                        {"offset", offset},
                        {"next_offset", offset + data.size()},
                        {"data", data}};
  return {200, boost::json::serialize(o)};
}
HttpResult error(int status, const std::string& code) {
  return {status, R"({"error":{"code":")" + code + R"(","message":"m"}})"};
}

class LogsTest : public ::testing::Test {
 protected:
  int run(LogsOptions o) {
    o.job = "7";
    return runLogs(
        o,
        [this](const std::string& target) -> Result<HttpResult> {
          asked.push_back(target);
          if (target == "/api/v1/jobs/j-7") return HttpResult{200, R"({"state":")" + state + "\"}"};
          if (answers.empty()) return unavailable("no more answers scripted");
          HttpResult r = answers.front();
          answers.pop_front();
          return r;
        },
        [this](const Result<HttpResult>& r) {
          reported = r.ok() ? r->status : -1;
          return kExitRefused;
        },
        out, err, [this](Duration) { ++sleeps; });
  }

  std::deque<HttpResult> answers;
  std::vector<std::string> asked;
  std::string state = "running";  // what GET /api/v1/jobs/j-7 says
  std::ostringstream out, err;
  int sleeps = 0;
  int reported = 0;
};

TEST_F(LogsTest, ATailIsOneRequest) {
  answers = {chunk(1, "running", "last lines\n", 100)};
  EXPECT_EQ(run({.bytes = 11}), kExitOk);
  EXPECT_THAT(asked, ElementsAre("/api/v1/jobs/j-7/output?stream=stdout&max_bytes=11"));
  EXPECT_EQ(out.str(), "last lines\n");
}

TEST_F(LogsTest, FollowReadsOnUntilTheJobEndedAndTheOutputStopped) {
  answers = {error(409, "no_output"),  // pending: no file yet, the job still may write
             chunk(1, "running", "a\n", 0), chunk(1, "running", "", 2),
             chunk(1, "completed", "b\n", 2), chunk(1, "completed", "", 4)};
  EXPECT_EQ(run({.stderr_stream = true, .follow = true}), kExitOk);
  EXPECT_EQ(out.str(), "a\nb\n");
  EXPECT_THAT(
      asked,
      ElementsAre("/api/v1/jobs/j-7/output?stream=stderr&max_bytes=65536", "/api/v1/jobs/j-7",
                  "/api/v1/jobs/j-7/output?stream=stderr&max_bytes=65536",
                  "/api/v1/jobs/j-7/output?stream=stderr&offset=2&max_bytes=1048576",
                  "/api/v1/jobs/j-7/output?stream=stderr&offset=2&max_bytes=1048576",
                  "/api/v1/jobs/j-7/output?stream=stderr&offset=4&max_bytes=1048576"));
  EXPECT_EQ(sleeps, 3);  // after no_output, and twice while nothing new came
}

TEST_F(LogsTest, FollowStartsAnewForANewAttempt) {
  answers = {chunk(1, "running", "first\n", 0), chunk(2, "running", "x", 0),
             chunk(2, "completed", "second\n", 0), chunk(2, "completed", "", 7)};
  EXPECT_EQ(run({.follow = true}), kExitOk);
  EXPECT_EQ(out.str(), "first\nsecond\n");
  EXPECT_THAT(err.str(), ::testing::HasSubstr("attempt 2 at mimer"));
  EXPECT_EQ(asked[2], "/api/v1/jobs/j-7/output?stream=stdout&offset=0&max_bytes=1048576");
}

TEST_F(LogsTest, AnEndedJobWithoutOutputIsReportedNotWaitedFor) {
  state = "failed";
  answers = {error(409, "no_output")};
  EXPECT_EQ(run({.follow = true}), kExitRefused);
  EXPECT_EQ(reported, 409);
  EXPECT_EQ(sleeps, 0);
  // Without --follow nothing is waited for at all.
  state = "running";
  answers = {error(503, "site_unreachable")};
  EXPECT_EQ(run({}), kExitRefused);
  EXPECT_EQ(reported, 503);
}

TEST(JobIdArgumentTest, ABareNumberIsAJobId) {
  EXPECT_EQ(jobIdArgument("12"), "j-12");
  EXPECT_EQ(jobIdArgument("j-12"), "j-12");
  EXPECT_EQ(jobIdArgument("12a"), "12a");
  EXPECT_EQ(jobIdArgument(""), "");
}

}  // namespace
}  // namespace aifed::cli
