// Single-site reference mode: the classic FCFS / EASY experiment on one SWF trace,
// with rules fixed precisely enough that any independent implementation gives the same
// start time for every job (tests/sim/swf_reference.py is one; docs/simulator.md
// states the rules).
//
// The site is one agent::LocalScheduler (the code the federation's sites run) with
// one "node" per processor. Jobs are submitted in queue order (submit time, then job
// number), so the scheduler's submission order is the reference queue order.
//
//   Result<SwfTrace> trace = readSwfFile("lublin_256.swf");
//   Result<SingleRun> run = runSingle(*trace, {.mode = agent::SchedulerMode::kEasy});
//   for (const SingleJob& j : run->jobs) ...   // queue order
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "protocol/status.h"
#include "sim/swf.h"
#include "site-agent/backends/local_scheduler.h"

namespace aifed::sim {

struct SingleOptions {
  agent::SchedulerMode mode = agent::SchedulerMode::kEasy;
  std::optional<int> size;  // processors; default: MaxProcs header, else MaxNodes
};

// One job of the run. Times in milliseconds from the trace's origin (SWF seconds x 1000).
struct SingleJob {
  int64_t job_number = 0;
  int64_t submit_ms = 0;
  int64_t start_ms = -1;
  int64_t end_ms = -1;
  int procs = 0;
  int64_t requested_ms = 0;  // field 9, or the runtime when unknown
  int64_t runtime_ms = 0;    // field 4, capped at requested_ms
};

struct SingleRun {
  int size = 0;
  std::vector<SingleJob> jobs;  // queue order: submit time, then job number
  int64_t skipped = 0;          // runtime < 0, procs <= 0 or procs > size
  int64_t events = 0;           // scheduler events processed
};

// kInvalidArgument if no size is given and the trace has neither MaxProcs nor MaxNodes,
// or a size < 1.
Result<SingleRun> runSingle(const SwfTrace& trace, const SingleOptions& options);

// "job_id,submit,start,end,procs" then one line per job, times in seconds (integers
// when whole, else with millisecond decimals).
void writeSingleJobsCsv(const SingleRun& run, std::ostream& out);
// "1234" or "1234.5": seconds from milliseconds, shortest exact form.
std::string formatSeconds(int64_t ms);

}  // namespace aifed::sim
