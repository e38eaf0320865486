// OutputRequests: REST output reads waiting for their sites' LOG_DATA, on explicit time.
#include "coordinator/output_requests.h"

#include <gtest/gtest.h>

#include <vector>

namespace aifed::coordinator {
namespace {

using std::chrono::seconds;
using Failure = OutputAnswer::Failure;

MonoTime at(int s) {
  return MonoTime(seconds(s));
}

class OutputRequestsTest : public ::testing::Test {
 protected:
  OutputRequests::Done recorder() {
    return [this](OutputAnswer a) { answers_.push_back(std::move(a)); };
  }
  OutputRequests pending_{{.timeout = seconds(10), .max_pending = 2}};
  std::vector<OutputAnswer> answers_;
};

TEST_F(OutputRequestsTest, LogDataAnswersItsRequestOnce) {
  Result<std::string> id = pending_.add("mimer", recorder(), at(0));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "out-1");
  EXPECT_EQ(pending_.nextDeadline(), at(10));
  EXPECT_TRUE(pending_.complete("mimer", LogData{.request_id = *id, .data = "hello\n"}));
  ASSERT_EQ(answers_.size(), 1u);
  EXPECT_EQ(answers_[0].failure, Failure::kNone);
  EXPECT_EQ(answers_[0].data.data, "hello\n");
  // A repeated or late LOG_DATA finds nothing.
  EXPECT_FALSE(pending_.complete("mimer", LogData{.request_id = *id}));
  EXPECT_EQ(answers_.size(), 1u);
  EXPECT_EQ(pending_.pending(), 0u);
  EXPECT_FALSE(pending_.nextDeadline().has_value());
}

TEST_F(OutputRequestsTest, ASiteCannotAnswerForAnother) {
  Result<std::string> id = pending_.add("mimer", recorder(), at(0));
  EXPECT_FALSE(pending_.complete("leonardo", LogData{.request_id = *id}));
  EXPECT_TRUE(answers_.empty());
  EXPECT_EQ(pending_.pending(), 1u);
}

TEST_F(OutputRequestsTest, UnansweredRequestsTimeOut) {
  Result<std::string> first = pending_.add("mimer", recorder(), at(0));
  Result<std::string> second = pending_.add("lumi-aif", recorder(), at(5));
  pending_.expire(at(9));
  EXPECT_TRUE(answers_.empty());
  pending_.expire(at(10));  // the first one's deadline
  ASSERT_EQ(answers_.size(), 1u);
  EXPECT_EQ(answers_[0].failure, Failure::kTimeout);
  EXPECT_EQ(answers_[0].message, "site mimer did not answer within 10 s");
  EXPECT_EQ(pending_.nextDeadline(), at(15));
  EXPECT_FALSE(pending_.complete("mimer", LogData{.request_id = *first}));  // too late
  EXPECT_TRUE(pending_.complete("lumi-aif", LogData{.request_id = *second}));
}

TEST_F(OutputRequestsTest, TooManyWaitingAreRefusedAndIdsAreNeverReused) {
  ASSERT_TRUE(pending_.add("mimer", recorder(), at(0)).ok());
  ASSERT_TRUE(pending_.add("mimer", recorder(), at(0)).ok());
  Result<std::string> third = pending_.add("mimer", recorder(), at(0));
  EXPECT_EQ(third.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(answers_.empty()) << "the caller answers a refused request";
  pending_.expire(at(10));
  Result<std::string> next = pending_.add("mimer", recorder(), at(11));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, "out-3");
}

}  // namespace
}  // namespace aifed::coordinator
