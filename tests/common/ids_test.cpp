#include "common/ids.h"

#include <gtest/gtest.h>

#include <limits>

namespace aifed::common {
namespace {

TEST(JobIdTest, FormatsTheSequenceNumber) {
  EXPECT_EQ(formatJobId(1), "j-1");
  EXPECT_EQ(formatJobId(42), "j-42");
  EXPECT_EQ(formatJobId(std::numeric_limits<int64_t>::max()), "j-9223372036854775807");
}

TEST(JobIdTest, ParsesOnlyTheTextFormatJobIdWrites) {
  struct Case {
    std::string id;
    std::optional<int64_t> want;
  };
  const Case cases[] = {
      {"j-1", 1},
      {"j-42", 42},
      {"j-9223372036854775807", std::numeric_limits<int64_t>::max()},
      {"j-9223372036854775808", std::nullopt},  // one past INT64_MAX
      {"j-99999999999999999999", std::nullopt},
      {"j-0", std::nullopt},    // sequence numbers start at 1
      {"j-007", std::nullopt},  // leading zeros: "j-7" is the only text of job 7
      {"j-", std::nullopt},
      {"j--1", std::nullopt},
      {"j-+1", std::nullopt},
      {"j- 1", std::nullopt},
      {"j-1 ", std::nullopt},
      {"j-1a", std::nullopt},
      {"J-1", std::nullopt},
      {"1", std::nullopt},
      {"", std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(parseJobSeq(c.id), c.want) << "\"" << c.id << "\"";
}

TEST(JobIdTest, RoundTrips) {
  for (int64_t seq : {int64_t{1}, int64_t{10}, int64_t{123456789012}}) {
    EXPECT_EQ(parseJobSeq(formatJobId(seq)), seq);
  }
}

}  // namespace
}  // namespace aifed::common
