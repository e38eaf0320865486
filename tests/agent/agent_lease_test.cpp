// The agent's job lease (site-agent/agent_lease.h): maintenance windows pause it, also for
// a heartbeat whose ACK arrives only after the agent was frozen inside a window.
#include "site-agent/agent_lease.h"

#include <gtest/gtest.h>

namespace aifed::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The same instant on both clocks, `ms` after an arbitrary origin.
Instant at(int64_t ms) {
  return Instant(Time{} + std::chrono::hours(24 * 365 * 56) + milliseconds(ms),
                 MonoTime{} + std::chrono::hours(1) + milliseconds(ms));
}

MaintenanceWindow windowFrom(int64_t start_ms, int64_t end_ms) {
  MaintenanceWindow w;
  w.id = "mw-1";
  w.start = at(start_ms).wall;
  w.end = at(end_ms).wall;
  w.reason = "test";
  return w;
}

// A lease of 2 s with a contact at 0 (a WELCOME to a HELLO sent then).
AgentLease leaseInContactAt0() {
  AgentLease lease;
  lease.restore(seconds(2), std::nullopt, at(0));
  lease.setLease(seconds(2));
  lease.helloSent(at(0).mono);
  lease.welcomed(at(10));
  return lease;
}

TEST(AgentLease, RunsOutAfterTheLeaseWithoutContact) {
  AgentLease lease = leaseInContactAt0();
  lease.observe(at(1'900));
  EXPECT_FALSE(lease.expired(at(1'900).mono));
  lease.observe(at(2'100));
  EXPECT_TRUE(lease.expired(at(2'100).mono));
  EXPECT_TRUE(lease.runsOutNow(at(2'100).mono));
  EXPECT_FALSE(lease.runsOutNow(at(2'200).mono)) << "once per spell of silence";
}

TEST(AgentLease, AWindowPausesItWhileTheAgentIsSilent) {
  AgentLease lease = leaseInContactAt0();
  lease.setMaintenance({windowFrom(500, 60'000)}, seconds(1));
  lease.observe(at(400));
  lease.observe(at(6'000));  // silent for 5.6 s, 5.5 s of it inside the window
  EXPECT_FALSE(lease.expired(at(6'000).mono));
  EXPECT_EQ(lease.paused(), milliseconds(5'500));
}

// The race the maintenance integration test met: a HEARTBEAT leaves just before the agent
// is frozen inside a window; its ACK is read first thing after the thaw, before the tick
// observes the pause. The contact it makes must keep the pause since its sending.
TEST(AgentLease, ALateAckKeepsThePauseSinceItsHeartbeatLeft) {
  AgentLease lease = leaseInContactAt0();
  lease.setMaintenance({windowFrom(500, 60'000)}, seconds(1));
  lease.observe(at(900));
  lease.sent("hb-1", at(1'000).mono);
  // Frozen from 1.0 s to 6.0 s; nothing observed meanwhile.
  lease.acknowledged("hb-1", at(6'000));
  lease.observe(at(6'000));
  EXPECT_FALSE(lease.expired(at(6'000).mono))
      << "5 s since the heartbeat left, all of it inside the window";
  EXPECT_FALSE(lease.runsOutNow(at(6'000).mono));
  // Outside the window the lease counts again: the window ends at 60 s, grace 1 s.
  lease.observe(at(61'000));
  EXPECT_FALSE(lease.expired(at(61'000).mono));
  lease.observe(at(63'100));
  EXPECT_TRUE(lease.expired(at(63'100).mono));
}

TEST(AgentLease, ALateAckOutsideAnyWindowCountsFromItsSending) {
  AgentLease lease = leaseInContactAt0();
  lease.sent("hb-1", at(1'000).mono);
  lease.acknowledged("hb-1", at(3'500));
  lease.observe(at(3'500));
  EXPECT_TRUE(lease.expired(at(3'500).mono)) << "2.5 s since the heartbeat left";
}

}  // namespace
}  // namespace aifed::agent
