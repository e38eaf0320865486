// The pending queue (coordinator/broker/pending_queue.h): placement order, the undecided
// list, and fair share under late binding.
#include "coordinator/broker/pending_queue.h"

#include <gtest/gtest.h>

namespace aifed::broker {
namespace {

JobSpec job(const std::string& project, int priority = 0) {
  JobSpec s;
  s.project = project;
  s.priority = priority;
  s.nodes = 1;
  s.gpus_per_node = 1;
  s.walltime = std::chrono::hours(1);
  return s;
}

std::vector<int64_t> drain(PlacementOrder& order) {
  std::vector<int64_t> out;
  while (std::optional<int64_t> s = order.next()) out.push_back(*s);
  return out;
}

TEST(PendingQueue, PriorityThenSubmissionOrder) {
  JobTable jobs;
  PendingQueue queue;
  for (int prio : {0, 5, 0, 5}) {
    int64_t seq = jobs.nextSeq();
    jobs.create(job("p", prio), Time{});
    queue.add(seq, prio);
  }
  AllocationLedger ledger({}, std::chrono::hours(1));
  PlacementOrder order(queue.entries(), jobs, ledger, /*late_binding=*/false, Time{});
  EXPECT_EQ(drain(order), (std::vector<int64_t>{2, 4, 1, 3}));
  queue.checkInvariants(jobs);
}

TEST(PendingQueue, OnlyJobsNotDecidedSinceTheyJoinedAreHandedOutAsUndecided) {
  PendingQueue queue;
  queue.add(1, 0);
  queue.add(2, 0);
  queue.markDecided(1);
  EXPECT_EQ(queue.takeUndecided(), (std::set<PendingQueue::Entry>{{0, 2}}));
  EXPECT_TRUE(queue.takeUndecided().empty());  // taken
  // A decided job that leaves and comes back (refused, re-queued) stays decided.
  queue.remove(1, 0);
  queue.add(1, 0);
  EXPECT_TRUE(queue.takeUndecided().empty());
  // A job that left the queue is not handed out.
  queue.add(3, 0);
  queue.remove(3, 0);
  EXPECT_TRUE(queue.takeUndecided().empty());
  // A policy switch makes every queued job undecided again.
  queue.markAllUndecided();
  EXPECT_EQ(queue.takeUndecided(), (std::set<PendingQueue::Entry>{{0, 1}, {0, 2}}));
  EXPECT_FALSE(queue.decided(1));
}

TEST(PlacementOrder, LateBindingHandsOutByFairShareAndReEvaluatesAfterEachDispatch) {
  JobTable jobs;
  PendingQueue queue;
  // big has used 10 GPU-h with share 2 (ratio 5); small has used 2 with share 1 (ratio 2).
  AllocationLedger ledger({{"big", 2.0}}, std::chrono::hours(1000));
  JobSpec used_big = job("big");
  used_big.nodes = 10;
  ledger.addDispatch(used_big, Time{});
  JobSpec used_small = job("small");
  used_small.nodes = 2;
  ledger.addDispatch(used_small, Time{});
  for (const char* p : {"big", "big", "small", "small"}) {
    int64_t seq = jobs.nextSeq();
    jobs.create(job(p), Time{});
    queue.add(seq, 0);
  }
  PlacementOrder order(queue.entries(), jobs, ledger, /*late_binding=*/true, Time{});
  EXPECT_EQ(order.next(), 3);  // small first (2 < 5)
  ledger.addDispatch(job("small"), Time{});
  ledger.addDispatch(job("small"), Time{});
  ledger.addDispatch(job("small"), Time{});
  ledger.addDispatch(job("small"), Time{});  // small: 6 GPU-h, ratio 6 > 5
  order.charged("small");
  EXPECT_EQ(order.next(), 1);
  EXPECT_EQ(order.next(), 2);
  EXPECT_EQ(order.next(), 4);
  EXPECT_FALSE(order.next().has_value());
}

}  // namespace
}  // namespace aifed::broker
