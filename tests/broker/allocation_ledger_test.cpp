// The allocation ledger (coordinator/broker/allocation_ledger.h): walltime while held,
// runtime once ended, never counted twice; fair-share usage decays by its half-life.
#include "coordinator/broker/allocation_ledger.h"

#include <gtest/gtest.h>

namespace aifed::broker {
namespace {

using std::chrono::hours;

JobRecord jobAt(const std::string& site, JobState state) {
  JobRecord j;
  j.id = "j-1";
  j.spec.project = "p";
  j.spec.nodes = 2;
  j.spec.gpus_per_node = 4;
  j.spec.walltime = hours(3);
  j.site = site;
  j.state = state;
  return j;
}

TEST(AllocationLedger, ChargesWalltimeWhileHeldAndRuntimeOnceEndedNeverTwice) {
  AllocationLedger ledger({}, hours(24));
  JobRecord j = jobAt("", JobState::kQueued);
  ledger.recharge(1, j);
  EXPECT_EQ(ledger.used("p", "a"), 0);
  j = jobAt("a", JobState::kDispatched);
  ledger.recharge(1, j);
  ledger.recharge(1, j);  // a repeated report changes nothing
  EXPECT_DOUBLE_EQ(ledger.used("p", "a"), 2 * 4 * 3.0);  // 24 GPU-h of walltime
  j.state = JobState::kCompleted;
  j.started_at = fromMillis(0);
  j.ended_at = fromMillis(3600 * 1000 / 2);  // ran half an hour
  ledger.recharge(1, j);
  EXPECT_DOUBLE_EQ(ledger.used("p", "a"), 2 * 4 * 0.5);
  ledger.forget(1);  // dropped from memory: the final charge stays
  EXPECT_DOUBLE_EQ(ledger.used("p", "a"), 4.0);
  ledger.checkInvariants();
}

TEST(AllocationLedger, AJobMovedToAnotherSiteIsChargedThereOnly) {
  AllocationLedger ledger({}, hours(24));
  ledger.recharge(1, jobAt("a", JobState::kPending));
  ledger.recharge(1, jobAt("", JobState::kQueued));  // lost and re-queued
  ledger.recharge(1, jobAt("b", JobState::kPending));
  EXPECT_DOUBLE_EQ(ledger.used("p", "a"), 0);
  EXPECT_DOUBLE_EQ(ledger.used("p", "b"), 24);
}

TEST(AllocationLedger, FairShareUsageHalvesEveryHalfLifeAndIsDividedByTheShare) {
  AllocationLedger ledger({{"p", 4.0}, {"q", 0.0}}, hours(10));
  JobSpec spec = jobAt("a", JobState::kDispatched).spec;  // 24 GPU-h
  ledger.addDispatch(spec, fromMillis(0));
  EXPECT_DOUBLE_EQ(ledger.decayedUsage("p", fromMillis(0)), 24);
  EXPECT_DOUBLE_EQ(ledger.decayedUsage("p", fromMillis(10 * 3600 * 1000)), 12);
  EXPECT_DOUBLE_EQ(ledger.shareRatio("p", fromMillis(10 * 3600 * 1000)), 3);
  EXPECT_EQ(ledger.share("q"), 1.0);  // not positive: the default share
  EXPECT_EQ(ledger.share("unlisted"), 1.0);
  EXPECT_DOUBLE_EQ(allocationCharge(spec, 2), 16);
  JobSpec cpu;
  cpu.nodes = 3;
  EXPECT_DOUBLE_EQ(allocationCharge(cpu, 2), 6);  // node-hours for a CPU job
}

}  // namespace
}  // namespace aifed::broker
