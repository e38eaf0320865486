// GoogleTest matchers for Status and Result<T> (test-only: tests/common's
// aifed_status_matchers target), after Abseil's status_matchers.h.
//
//   EXPECT_THAT(store->apply(fx, {}), IsOk());
//   EXPECT_THAT(loadCoordinatorConfig(path), StatusIs(StatusCode::kInvalidArgument));
//   EXPECT_THAT(parseToken("x"), StatusIs(StatusCode::kUnauthenticated, HasSubstr("malformed")));
//
// A failure prints the status ("invalid_argument: coordinator.toml:4: http_port: ...").
#pragma once

#include <gmock/gmock.h>

#include <ostream>

#include "protocol/status.h"

namespace aifed {

// How gtest prints a Status or a Result in failure messages (found by ADL).
inline void PrintTo(const Status& status, std::ostream* os) {
  *os << (status.ok() ? std::string("ok") : status.toString());
}
template <typename T>
void PrintTo(const Result<T>& result, std::ostream* os) {
  *os << (result.ok() ? std::string("ok (a value)") : result.status().toString());
}

namespace testing_internal {
inline const Status& statusOf(const Status& status) {
  return status;
}
template <typename T>
const Status& statusOf(const Result<T>& result) {
  return result.status();
}
}  // namespace testing_internal

// Matches an OK Status, or a Result holding a value.
MATCHER(IsOk, negation ? "is not OK" : "is OK") {
  const Status& s = testing_internal::statusOf(arg);
  if (!s.ok()) *result_listener << "which is " << s.toString();
  return s.ok();
}

// Matches a Status or Result whose code is `code`.
MATCHER_P(StatusIs, code, "has status code " + std::string(statusCodeName(code))) {
  const Status& s = testing_internal::statusOf(arg);
  *result_listener << "which is " << (s.ok() ? std::string("ok") : s.toString());
  return s.code() == code;
}

// The same, and its message matches `message_matcher` (a string or a matcher such as
// HasSubstr("...")).
MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + std::string(statusCodeName(code)) + " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher)) {
  const Status& s = testing_internal::statusOf(arg);
  *result_listener << "which is " << (s.ok() ? std::string("ok") : s.toString());
  return s.code() == code &&
         ::testing::Matches(::testing::MatcherCast<std::string>(message_matcher))(s.message());
}

}  // namespace aifed
