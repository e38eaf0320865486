// Command retries (coordinator/broker/command_retries.h): due after the interval, due at
// once when asked, skipped while the site cannot be reached, settled by the answer.
#include "coordinator/broker/command_retries.h"

#include <gtest/gtest.h>

#include <vector>

namespace aifed::broker {
namespace {

using std::chrono::seconds;

MonoTime at(int64_t s) {
  return MonoTime(seconds(100 + s));
}

TEST(CommandRetries, ResentEveryIntervalUntilSettled) {
  CommandRetries retries(seconds(3));
  retries.sent(7, at(0));
  std::vector<int64_t> resent;
  auto resend = [&](int64_t seq) {
    resent.push_back(seq);
    return true;
  };
  retries.forEachDue(at(2), resend);
  EXPECT_TRUE(resent.empty());
  EXPECT_EQ(retries.nextDeadline([](int64_t) { return true; }), at(3));
  retries.forEachDue(at(3), resend);
  EXPECT_EQ(resent, (std::vector<int64_t>{7}));
  retries.forEachDue(at(5), resend);  // its interval restarted at 3
  EXPECT_EQ(resent.size(), 1u);
  retries.settle(7);
  EXPECT_FALSE(retries.outstanding(7));
  EXPECT_FALSE(retries.nextDeadline([](int64_t) { return true; }).has_value());
}

TEST(CommandRetries, DueNowAndUnreachableSitesInSeqOrder) {
  CommandRetries retries(seconds(3));
  retries.sent(9, at(0));
  retries.sent(4, at(0));
  retries.dueNow(9);  // its site said HELLO again
  EXPECT_EQ(retries.nextDeadline([](int64_t) { return true; }), MonoTime{});
  // 9's site cannot be reached: only reachable sites set the deadline.
  EXPECT_EQ(retries.nextDeadline([](int64_t seq) { return seq != 9; }), at(3));
  std::vector<int64_t> tried;
  retries.forEachDue(at(3), [&](int64_t seq) {
    tried.push_back(seq);
    return seq != 9;  // not sent: it stays due
  });
  EXPECT_EQ(tried, (std::vector<int64_t>{4, 9}));
  tried.clear();
  retries.forEachDue(at(4), [&](int64_t seq) {
    tried.push_back(seq);
    return true;
  });
  EXPECT_EQ(tried, (std::vector<int64_t>{9}));
}

}  // namespace
}  // namespace aifed::broker
