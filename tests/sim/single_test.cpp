#include "sim/single.h"

#include <gtest/gtest.h>

#include <sstream>

namespace aifed::sim {
namespace {

// job submit run procs requested
std::string line(int id, int submit, int run, int procs, int req) {
  std::ostringstream s;
  s << id << ' ' << submit << " -1 " << run << ' ' << procs << " -1 -1 -1 " << req
    << " -1 1 1 1 -1 -1 -1 -1 -1\n";
  return s.str();
}

SingleRun mustRun(const std::string& text, agent::SchedulerMode mode) {
  Result<SwfTrace> t = parseSwf(text, "t.swf");
  EXPECT_TRUE(t.ok()) << t.status().toString();
  Result<SingleRun> r = runSingle(*t, {.mode = mode, .size = std::nullopt});
  EXPECT_TRUE(r.ok()) << r.status().toString();
  return *r;
}

TEST(SingleTest, EasyBackfillsAroundTheHeadAndFcfsDoesNot) {
  // 10 processors. Job 1 takes 6 until 100 (requested 100). Job 2 needs 8: blocked,
  // shadow 100, extra 10 - 8 = 2. Job 3 (4 procs, requested end 52 <= 100) backfills
  // at 2, leaving 0 free, so job 4 waits until job 3 really ends at 42; then it uses
  // the 2 extra processors (it ends after the shadow time). Job 5 (1 proc, ends after
  // 100, no extra left) waits for job 2 to end at 110. FCFS starts nothing past job 2:
  // job 3 then starts when job 2 ends.
  std::string text = "; MaxProcs: 10\n" + line(1, 0, 100, 6, 100) + line(2, 1, 10, 8, 10) +
                     line(3, 2, 40, 4, 50) + line(4, 3, 500, 2, 500) + line(5, 4, 5, 1, 500);
  SingleRun easy = mustRun(text, agent::SchedulerMode::kEasy);
  ASSERT_EQ(easy.jobs.size(), 5u);
  EXPECT_EQ(easy.jobs[0].start_ms, 0);
  EXPECT_EQ(easy.jobs[1].start_ms, 100'000);  // at its shadow time
  EXPECT_EQ(easy.jobs[2].start_ms, 2'000);
  EXPECT_EQ(easy.jobs[3].start_ms, 42'000);
  EXPECT_EQ(easy.jobs[4].start_ms, 110'000);  // after job 2 (8 + 2 held until 110)
  SingleRun fcfs = mustRun(text, agent::SchedulerMode::kFcfs);
  EXPECT_EQ(fcfs.jobs[1].start_ms, 100'000);
  EXPECT_EQ(fcfs.jobs[2].start_ms, 110'000);
}

TEST(SingleTest, ConservativeProtectsTheSecondJobWhereEasyDoesNot) {
  // 4 processors. Job 1 (2 procs) runs until 10. Job 2 (3 procs) is blocked: shadow 10,
  // extra 1. Job 3 needs all 4 for 10 s. Job 4 (1 proc, 30 s) fits now: EASY starts it
  // on the extra processor, so job 3 waits for it until 31; conservative reserves job 2
  // at 10, job 3 at 20 and job 4 after job 3, at 30.
  std::string text = "; MaxProcs: 4\n" + line(1, 0, 10, 2, 10) + line(2, 0, 10, 3, 10) +
                     line(3, 0, 10, 4, 10) + line(4, 1, 30, 1, 30);
  SingleRun easy = mustRun(text, agent::SchedulerMode::kEasy);
  SingleRun cons = mustRun(text, agent::SchedulerMode::kConservative);
  ASSERT_EQ(easy.jobs.size(), 4u);
  ASSERT_EQ(cons.jobs.size(), 4u);
  EXPECT_EQ(easy.jobs[1].start_ms, 10'000);
  EXPECT_EQ(easy.jobs[2].start_ms, 31'000);
  EXPECT_EQ(easy.jobs[3].start_ms, 1'000);
  EXPECT_EQ(cons.jobs[1].start_ms, 10'000);
  EXPECT_EQ(cons.jobs[2].start_ms, 20'000);
  EXPECT_EQ(cons.jobs[3].start_ms, 30'000);
}

TEST(SingleTest, QueueOrderIsSubmitThenJobNumberAndSkipsFollowTheRules) {
  // Job 9 is listed first but submits later; job 3 and job 2 tie on submit time.
  // Skipped: runtime -1 (4), procs 0 (5), procs > size (6). Field 8 stands in for
  // field 5 when that is -1 (7). Runtime capped at requested (8: 50 -> 20).
  std::string text = "; MaxNodes: 4\n" + line(9, 5, 1, 4, -1) + line(3, 0, 10, 4, -1) +
                     line(2, 0, 10, 4, -1) + line(4, 0, -1, 1, 5) + line(5, 0, 1, 0, 5) +
                     line(6, 0, 1, 5, 5) + line(8, 6, 50, 1, 20) +
                     "7 6 -1 3 -1 -1 -1 2 -1 -1 1 1 1 -1 -1 -1 -1 -1\n";
  SingleRun r = mustRun(text, agent::SchedulerMode::kFcfs);
  EXPECT_EQ(r.size, 4);
  EXPECT_EQ(r.skipped, 3);
  std::ostringstream csv;
  writeSingleJobsCsv(r, csv);
  EXPECT_EQ(csv.str(),
            "job_id,submit,start,end,procs\n"
            "2,0,0,10,4\n"
            "3,0,10,20,4\n"
            "9,5,20,21,4\n"
            "7,6,21,24,2\n"
            "8,6,21,41,1\n");
}

TEST(SingleTest, NeedsASize) {
  Result<SwfTrace> t = parseSwf(line(1, 0, 1, 1, 1), "t.swf");
  ASSERT_TRUE(t.ok());
  Result<SingleRun> r = runSingle(*t, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "t.swf: no MaxProcs or MaxNodes header; give the size with --size");
  EXPECT_EQ(formatSeconds(1500), "1.5");
  EXPECT_EQ(formatSeconds(2000), "2");
}

}  // namespace
}  // namespace aifed::sim
