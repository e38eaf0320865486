// The transport's fault injection (protocol/transport/fault_injector.h): the plan's
// syntax, the faults' effect on the frames a socket hands to ZeroMQ, repeatability, and
// the one-shot crash point. Built only with AIFED_FAULT_INJECTION.
#include "protocol/transport/fault_injector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <string>
#include <vector>

namespace aifed::transport {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string frame(const std::string& type, const std::string& state = "", int n = 0) {
  std::string body = state.empty() ? "{\"n\":" + std::to_string(n) + "}"
                                   : "{\"state\":\"" + state + "\",\"n\":" + std::to_string(n) + "}";
  return "{\"v\":\"1.1\",\"type\":\"" + type + "\",\"msg_id\":\"m-" + std::to_string(n) +
         "\",\"site\":\"mimer\",\"sent_at\":0,\"body\":" + body + "}";
}

// Collects what reaches the "wire".
struct Wire {
  std::vector<std::string> frames;
  FaultInjector::RawSend raw() {
    return [this](const std::string& f) {
      frames.push_back(f);
      return Status::Ok();
    };
  }
};

FaultPlan plan(const std::string& text) {
  Result<FaultPlan> p = parseFaultPlan(text);
  EXPECT_TRUE(p.ok()) << p.status().toString();
  return p.ok() ? *p : FaultPlan{};
}

TEST(FaultPlanTest, ParsesEveryKey) {
  FaultPlan p = plan(
      "drop=0.1, dup=0.05,reorder=0.25,seed=7,drop_type=JOB_STATUS|ACK,"
      "crash_after_send=JOB_STATUS:running,crash_delay_ms=50");
  EXPECT_DOUBLE_EQ(p.drop, 0.1);
  EXPECT_DOUBLE_EQ(p.dup, 0.05);
  EXPECT_DOUBLE_EQ(p.reorder, 0.25);
  EXPECT_EQ(p.seed, 7u);
  EXPECT_EQ(p.drop_types, (std::set<std::string>{"ACK", "JOB_STATUS"}));
  EXPECT_TRUE(p.dup_types.empty());
  EXPECT_EQ(p.crash_type, "JOB_STATUS");
  EXPECT_EQ(p.crash_state, "running");
  EXPECT_EQ(p.crash_delay_ms, 50);
  EXPECT_FALSE(p.empty());
  EXPECT_TRUE(plan("").empty());
  EXPECT_EQ(plan("type=HEARTBEAT").reorder_types, std::set<std::string>{"HEARTBEAT"});
}

TEST(FaultPlanTest, MistakesNameTheKey) {
  auto bad = parseFaultPlan("drop=1.5");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("drop must be a probability"));
  bad = parseFaultPlan("dorp=0.1");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown key \"dorp\""));
  bad = parseFaultPlan("drop");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("not key=value"));
  EXPECT_FALSE(parseFaultPlan("seed=-3").ok());
  EXPECT_FALSE(parseFaultPlan("crash_after_send=:running").ok());
}

TEST(FaultPlanTest, LabelsReadTheEnvelope) {
  FrameLabel l = labelFrame(frame("JOB_STATUS", "running"));
  EXPECT_EQ(l.type, "JOB_STATUS");
  EXPECT_EQ(l.state, "running");
  EXPECT_EQ(labelFrame("not json").type, "");
  EXPECT_EQ(labelFrame("[1,2]").type, "");
}

TEST(FaultInjectorTest, DropLosesOnlyTheListedTypes) {
  FaultInjector faults(plan("drop=1,drop_type=JOB_STATUS"), "mimer");
  Wire wire;
  EXPECT_TRUE(faults.send(frame("JOB_STATUS", "running", 1), wire.raw()).ok());
  EXPECT_TRUE(faults.send(frame("HEARTBEAT", "", 2), wire.raw()).ok());
  EXPECT_THAT(wire.frames, ElementsAre(frame("HEARTBEAT", "", 2)));
  EXPECT_EQ(faults.stats().dropped, 1u);
}

TEST(FaultInjectorTest, DupSendsTwice) {
  FaultInjector faults(plan("dup=1"), "mimer");
  Wire wire;
  ASSERT_TRUE(faults.send(frame("ACK", "", 1), wire.raw()).ok());
  EXPECT_THAT(wire.frames, ElementsAre(frame("ACK", "", 1), frame("ACK", "", 1)));
}

TEST(FaultInjectorTest, ReorderSwapsAFrameWithTheNextOrReleasesItOnReceive) {
  FaultInjector faults(plan("reorder=1"), "mimer");
  Wire wire;
  ASSERT_TRUE(faults.send(frame("JOB_STATUS", "pending", 1), wire.raw()).ok());
  EXPECT_TRUE(wire.frames.empty());  // held
  // Only one frame is held at a time: the next goes out, then the held one.
  ASSERT_TRUE(faults.send(frame("JOB_STATUS", "running", 2), wire.raw()).ok());
  EXPECT_THAT(wire.frames,
              ElementsAre(frame("JOB_STATUS", "running", 2), frame("JOB_STATUS", "pending", 1)));
  ASSERT_TRUE(faults.send(frame("HEARTBEAT", "", 3), wire.raw()).ok());
  EXPECT_EQ(wire.frames.size(), 2u);
  faults.flush();  // what tryReceive() does first
  EXPECT_EQ(wire.frames.back(), frame("HEARTBEAT", "", 3));
}

TEST(FaultInjectorTest, SameSeedAndRoleRepeatTheRunOtherRolesDiffer) {
  auto run = [](const std::string& role) {
    FaultInjector faults(plan("drop=0.3,seed=11"), role);
    Wire wire;
    for (int i = 0; i < 200; ++i) (void)faults.send(frame("HEARTBEAT", "", i), wire.raw());
    return wire.frames;
  };
  EXPECT_EQ(run("mimer"), run("mimer"));
  EXPECT_NE(run("mimer"), run("lumi-aif"));
}

TEST(FaultInjectorTest, RatesFollowThePlan) {
  FaultInjector faults(plan("drop=0.1,dup=0.05,seed=3"), "coordinator");
  Wire wire;
  for (int i = 0; i < 10000; ++i) (void)faults.send(frame("DISPATCH", "", i), wire.raw());
  // Binomial(10000, 0.1): mean 1000, sd 30; (10000, 0.05 of the kept): mean ~450, sd 21.
  EXPECT_NEAR(static_cast<double>(faults.stats().dropped), 1000, 150);
  EXPECT_NEAR(static_cast<double>(faults.stats().duplicated), 450, 110);
  EXPECT_EQ(wire.frames.size(), 10000 - faults.stats().dropped + faults.stats().duplicated);
}

TEST(FaultInjectorDeathTest, CrashAfterSendKillsRightAfterTheMatchingFrame) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto run = [] {
    FaultInjector faults(plan("crash_after_send=JOB_STATUS:running,crash_delay_ms=0"), "mimer");
    Wire wire;
    (void)faults.send(frame("JOB_STATUS", "pending", 1), wire.raw());
    (void)faults.send(frame("HEARTBEAT", "", 2), wire.raw());
    (void)faults.send(frame("JOB_STATUS", "running", 3), wire.raw());
    std::fprintf(stderr, "still alive after %zu frames\n", wire.frames.size());
    std::exit(0);
  };
  EXPECT_EXIT(run(), ::testing::KilledBySignal(SIGKILL), "sent JOB_STATUS:running");
}

TEST(FaultInjectorTest, EnvironmentTurnsItOnAndABadPlanIsIgnored) {
  unsetenv(kFaultsVariable);
  EXPECT_EQ(FaultInjector::fromEnvironment("mimer"), nullptr);
  setenv(kFaultsVariable, "drop=2", 1);
  EXPECT_EQ(FaultInjector::fromEnvironment("mimer"), nullptr);
  setenv(kFaultsVariable, "drop=0.5", 1);
  EXPECT_NE(FaultInjector::fromEnvironment("mimer"), nullptr);
  unsetenv(kFaultsVariable);
}

}  // namespace
}  // namespace aifed::transport
