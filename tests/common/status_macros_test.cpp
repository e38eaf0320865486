// RETURN_IF_ERROR and ASSIGN_OR_RETURN (protocol/status.h), and the matchers themselves.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "protocol/status.h"
#include "tests/common/status_matchers.h"

namespace aifed {
namespace {
using ::testing::HasSubstr;
using ::testing::Not;

Status check(int value, int* steps) {
  ++*steps;
  if (value < 0) return invalidArgument("negative", "value");
  return Status::Ok();
}

Result<int> half(int value) {
  if (value % 2 != 0) return invalidArgument(std::to_string(value) + " is odd");
  return value / 2;
}

Status twoChecks(int a, int b, int* steps) {
  RETURN_IF_ERROR(check(a, steps));
  RETURN_IF_ERROR(check(b, steps));
  return Status::Ok();
}

Result<int> quarter(int value) {
  ASSIGN_OR_RETURN(int h, half(value));
  ASSIGN_OR_RETURN(h, half(h));  // into an existing variable
  return h;
}

Result<std::unique_ptr<int>> boxed(int value) {
  if (value == 0) return notFound("nothing");
  return std::make_unique<int>(value);
}

Status moveOnly(int value, int* out) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> p, boxed(value));  // moves the value out
  *out = *p;
  return Status::Ok();
}

TEST(StatusMacrosTest, ReturnIfErrorStopsAtTheFirstError) {
  int steps = 0;
  EXPECT_THAT(twoChecks(1, 2, &steps), IsOk());
  EXPECT_EQ(steps, 2);
  steps = 0;
  Status s = twoChecks(-1, 2, &steps);
  EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument, "negative"));
  EXPECT_EQ(s.field(), "value");  // propagated whole
  EXPECT_EQ(steps, 1);
}

TEST(StatusMacrosTest, AssignOrReturnAssignsOrPropagates) {
  EXPECT_EQ(quarter(12).value(), 3);
  EXPECT_THAT(quarter(7), StatusIs(StatusCode::kInvalidArgument, "7 is odd"));
  EXPECT_THAT(quarter(6), StatusIs(StatusCode::kInvalidArgument, "3 is odd"));
  int out = 0;
  EXPECT_THAT(moveOnly(5, &out), IsOk());
  EXPECT_EQ(out, 5);
  EXPECT_THAT(moveOnly(0, &out), StatusIs(StatusCode::kNotFound));
}

TEST(StatusMatchersTest, MatchStatusesAndResults) {
  EXPECT_THAT(Status::Ok(), IsOk());
  EXPECT_THAT(Result<int>(1), IsOk());
  EXPECT_THAT(unavailable("busy"), Not(IsOk()));
  EXPECT_THAT(Result<int>(unavailable("busy")), StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(unavailable("database busy"), StatusIs(StatusCode::kUnavailable, HasSubstr("busy")));
  EXPECT_THAT(unavailable("busy"), Not(StatusIs(StatusCode::kInternal)));
  EXPECT_THAT(Status::Ok(), StatusIs(StatusCode::kOk));
}

}  // namespace
}  // namespace aifed
