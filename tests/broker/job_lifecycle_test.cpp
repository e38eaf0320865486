// The job life cycle table (coordinator/broker/job_lifecycle.h): one row here per legal
// edge, written out independently of the code's table, so a change to either shows.
#include "coordinator/broker/job_lifecycle.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace aifed::broker {
namespace {

using P = JobPhase;
using E = JobEvent;
using S = JobState;

// A job in `phase`, its flags set as the phase says.
JobRecord jobIn(JobPhase phase) {
  JobRecord j;
  j.id = "j-1";
  j.site = phase == P::kQueued ? "" : "mimer";
  switch (phase) {
    case P::kQueued:
      j.state = S::kQueued;
      break;
    case P::kDispatched:
    case P::kDispatchedCancelling:
      j.state = S::kDispatched;
      break;
    case P::kPending:
    case P::kPendingCancelling:
    case P::kPendingWithdrawing:
      j.state = S::kPending;
      break;
    case P::kRunning:
    case P::kRunningCancelling:
      j.state = S::kRunning;
      break;
    case P::kEnded:
      j.state = S::kCompleted;
      break;
  }
  j.cancel_requested = phase == P::kDispatchedCancelling || phase == P::kPendingCancelling ||
                       phase == P::kRunningCancelling;
  j.withdrawing = phase == P::kPendingWithdrawing;
  return j;
}

struct Row {
  JobPhase from;
  JobEvent event;
  JobPhase to;
  JobState end = S::kQueued;  // the terminal state reached (kEnd reports kTimeout here)
};

// docs/placement.md, "Job life cycle", as a table.
const std::vector<Row> kRows = {
    {P::kQueued, E::kPlace, P::kDispatched},
    {P::kQueued, E::kCancelQueued, P::kEnded, S::kCancelled},
    {P::kDispatched, E::kAccept, P::kPending},
    {P::kDispatched, E::kReportPending, P::kPending},
    {P::kDispatched, E::kStart, P::kRunning},
    {P::kDispatched, E::kEnd, P::kEnded, S::kTimeout},
    {P::kDispatched, E::kRefuseRequeue, P::kQueued},
    {P::kDispatched, E::kRefuseFail, P::kEnded, S::kFailed},
    {P::kDispatched, E::kRequestCancel, P::kDispatchedCancelling},
    {P::kDispatched, E::kLoseRequeue, P::kQueued},
    {P::kDispatched, E::kLose, P::kEnded, S::kLost},
    {P::kPending, E::kStart, P::kRunning},
    {P::kPending, E::kEnd, P::kEnded, S::kTimeout},
    {P::kPending, E::kRequestCancel, P::kPendingCancelling},
    {P::kPending, E::kRequestWithdraw, P::kPendingWithdrawing},
    {P::kPending, E::kLoseRequeue, P::kQueued},
    {P::kPending, E::kLose, P::kEnded, S::kLost},
    {P::kPendingWithdrawing, E::kWithdrawn, P::kQueued},
    {P::kPendingWithdrawing, E::kStart, P::kRunning},
    {P::kPendingWithdrawing, E::kEnd, P::kEnded, S::kTimeout},
    {P::kPendingWithdrawing, E::kRequestCancel, P::kPendingCancelling},
    {P::kPendingWithdrawing, E::kLoseRequeue, P::kQueued},
    {P::kPendingWithdrawing, E::kLose, P::kEnded, S::kLost},
    {P::kRunning, E::kEnd, P::kEnded, S::kTimeout},
    {P::kRunning, E::kRequestCancel, P::kRunningCancelling},
    {P::kRunning, E::kLoseRequeue, P::kQueued},
    {P::kRunning, E::kLose, P::kEnded, S::kLost},
    {P::kDispatchedCancelling, E::kAccept, P::kPendingCancelling},
    {P::kDispatchedCancelling, E::kReportPending, P::kPendingCancelling},
    {P::kDispatchedCancelling, E::kStart, P::kRunningCancelling},
    {P::kDispatchedCancelling, E::kEnd, P::kEnded, S::kTimeout},
    {P::kDispatchedCancelling, E::kRefuseRequeue, P::kEnded, S::kCancelled},
    {P::kDispatchedCancelling, E::kRefuseFail, P::kEnded, S::kCancelled},
    {P::kDispatchedCancelling, E::kRequestCancel, P::kDispatchedCancelling},
    {P::kDispatchedCancelling, E::kLoseRequeue, P::kEnded, S::kCancelled},
    {P::kDispatchedCancelling, E::kLose, P::kEnded, S::kCancelled},
    {P::kPendingCancelling, E::kStart, P::kRunningCancelling},
    {P::kPendingCancelling, E::kEnd, P::kEnded, S::kTimeout},
    {P::kPendingCancelling, E::kRequestCancel, P::kPendingCancelling},
    {P::kPendingCancelling, E::kLoseRequeue, P::kEnded, S::kCancelled},
    {P::kPendingCancelling, E::kLose, P::kEnded, S::kCancelled},
    {P::kRunningCancelling, E::kEnd, P::kEnded, S::kTimeout},
    {P::kRunningCancelling, E::kRequestCancel, P::kRunningCancelling},
    {P::kRunningCancelling, E::kLoseRequeue, P::kEnded, S::kCancelled},
    {P::kRunningCancelling, E::kLose, P::kEnded, S::kCancelled},
};

const std::vector<JobPhase> kPhases = {
    P::kQueued,          P::kDispatched,         P::kPending,
    P::kRunning,         P::kDispatchedCancelling, P::kPendingCancelling,
    P::kRunningCancelling, P::kPendingWithdrawing, P::kEnded};
const std::vector<JobEvent> kEvents = {
    E::kPlace,         E::kAccept,        E::kReportPending, E::kStart,
    E::kEnd,           E::kRefuseRequeue, E::kRefuseFail,    E::kCancelQueued,
    E::kRequestCancel, E::kRequestWithdraw, E::kWithdrawn,   E::kLoseRequeue,
    E::kLose};

std::string rowName(const ::testing::TestParamInfo<Row>& info) {
  std::string n = std::string(jobPhaseName(info.param.from)) + "_" +
                  std::string(jobEventName(info.param.event));
  for (char& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

class JobLifecycleEdge : public ::testing::TestWithParam<Row> {};

TEST_P(JobLifecycleEdge, MovesTheJobToItsTarget) {
  const Row& row = GetParam();
  JobRecord j = jobIn(row.from);
  Time now = fromMillis(1'800'000'000'000);
  ASSERT_TRUE(applyJobEvent(j, row.event, now, S::kTimeout).ok());
  EXPECT_EQ(phaseOf(j), row.to) << jobPhaseName(phaseOf(j));
  EXPECT_EQ(j.updated_at, now);
  if (row.to == P::kEnded) {
    EXPECT_EQ(j.state, row.end);
    EXPECT_EQ(j.ended_at, now);
    EXPECT_FALSE(j.cancel_requested);  // nothing is outstanding for an ended job
    EXPECT_FALSE(j.withdrawing);
  } else {
    EXPECT_FALSE(j.ended_at.has_value());
  }
}

INSTANTIATE_TEST_SUITE_P(Table, JobLifecycleEdge, ::testing::ValuesIn(kRows), rowName);

TEST(JobLifecycle, TheCodesTableIsExactlyTheDocumentedOne) {
  std::set<std::pair<int, int>> documented;
  for (const Row& r : kRows) documented.insert({static_cast<int>(r.from), static_cast<int>(r.event)});
  std::set<std::pair<int, int>> coded;
  for (const JobEdge& e : jobLifecycleEdges()) {
    EXPECT_TRUE(coded.insert({static_cast<int>(e.from), static_cast<int>(e.event)}).second)
        << "duplicate edge " << jobPhaseName(e.from) << " --" << jobEventName(e.event) << "-->";
  }
  EXPECT_EQ(coded, documented);
}

TEST(JobLifecycle, EveryOtherPairIsRefusedAndChangesNothing) {
  std::set<std::pair<int, int>> legal;
  for (const Row& r : kRows) legal.insert({static_cast<int>(r.from), static_cast<int>(r.event)});
  int refused = 0;
  for (JobPhase from : kPhases) {
    for (JobEvent event : kEvents) {
      if (legal.count({static_cast<int>(from), static_cast<int>(event)})) continue;
      EXPECT_FALSE(findJobEdge(from, event).has_value())
          << jobPhaseName(from) << " --" << jobEventName(event) << "-->";
      ++refused;
    }
  }
  // Every phase and event was tried: 9 x 13 pairs, less the legal edges.
  EXPECT_EQ(refused, static_cast<int>(kPhases.size() * kEvents.size() - kRows.size()));
  EXPECT_EQ(kPhases.size() * kEvents.size(), 9u * 13u);
}

TEST(JobLifecycle, AnIllegalTransitionIsAnAssertionInDebugAndANoOpInRelease) {
  JobRecord j = jobIn(P::kRunning);
  JobRecord before = j;
  EXPECT_DEBUG_DEATH(
      {
        Status s = applyJobEvent(j, JobEvent::kAccept, fromMillis(5));
        EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
        EXPECT_NE(s.message().find("no transition from running on accept"), std::string::npos)
            << s.message();
      },
      "illegal job life cycle transition");
  EXPECT_EQ(j, before);
}

TEST(JobLifecycle, EndNeedsATerminalReportedState) {
  JobRecord j = jobIn(P::kRunning);
  JobRecord before = j;
  EXPECT_DEBUG_DEATH((void)applyJobEvent(j, JobEvent::kEnd, fromMillis(5), S::kPending),
                     "illegal job life cycle transition");
  EXPECT_EQ(j, before);
}

TEST(JobLifecycle, AnEndedJobKeepsTheEndTimeItWasGiven) {
  JobRecord j = jobIn(P::kRunning);
  j.ended_at = fromMillis(100);  // the site's own end time, set from its report
  ASSERT_TRUE(applyJobEvent(j, JobEvent::kEnd, fromMillis(200), S::kCompleted).ok());
  EXPECT_EQ(j.ended_at, fromMillis(100));
  EXPECT_EQ(j.state, S::kCompleted);
}

}  // namespace
}  // namespace aifed::broker
