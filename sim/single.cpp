#include "sim/single.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>

namespace aifed::sim {

std::string formatSeconds(int64_t ms) {
  std::string s = std::to_string(ms / 1000);
  int64_t frac = ms % 1000;
  if (frac < 0) frac = -frac;
  if (ms < 0 && ms > -1000) s = "-" + s;
  if (frac == 0) return s;
  char buf[8];
  std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(frac));
  std::string f = buf;
  while (f.back() == '0') f.pop_back();
  return s + f;
}

Result<SingleRun> runSingle(const SwfTrace& trace, const SingleOptions& options) {
  SingleRun run;
  if (options.size) {
    run.size = *options.size;
  } else if (auto p = trace.maxProcs(); p && *p > 0) {
    run.size = static_cast<int>(*p);
  } else if (auto n = trace.maxNodes(); n && *n > 0) {
    run.size = static_cast<int>(*n);
  } else {
    return invalidArgument(trace.source +
                           ": no MaxProcs or MaxNodes header; give the size with --size");
  }
  if (run.size < 1) return invalidArgument("size must be at least 1", "size");

  auto ms = [](double seconds) { return static_cast<int64_t>(std::llround(seconds * 1000.0)); };
  run.jobs.reserve(trace.jobs.size());
  for (const SwfJob& j : trace.jobs) {
    int64_t procs = j.allocated_procs != -1 ? j.allocated_procs : j.requested_procs;
    if (j.run_time < 0 || procs <= 0 || procs > run.size) {
      ++run.skipped;
      continue;
    }
    SingleJob s;
    s.job_number = j.job_number;
    s.submit_ms = ms(j.submit_time);
    s.procs = static_cast<int>(procs);
    int64_t runtime = ms(j.run_time);
    s.requested_ms = j.requested_time < 0 ? runtime : ms(j.requested_time);
    s.runtime_ms = std::min(runtime, s.requested_ms);
    run.jobs.push_back(s);
  }
  std::stable_sort(run.jobs.begin(), run.jobs.end(), [](const SingleJob& a, const SingleJob& b) {
    return a.submit_ms != b.submit_ms ? a.submit_ms < b.submit_ms : a.job_number < b.job_number;
  });

  agent::LocalScheduler scheduler(run.size, options.mode);
  // LocalScheduler ids are issued 1, 2, ... in submission order = index + 1.
  auto record = [&](const std::vector<agent::LocalSchedulerEvent>& events) {
    for (const agent::LocalSchedulerEvent& e : events) {
      SingleJob& job = run.jobs[e.job - 1];
      if (e.kind == agent::LocalEventKind::kStarted) {
        job.start_ms = toMillis(e.at);
      } else {
        job.end_ms = toMillis(e.at);
      }
      ++run.events;
    }
  };
  for (size_t i = 0; i < run.jobs.size(); ++i) {
    const SingleJob& job = run.jobs[i];
    // Completions up to and at the arrival instant come before the arrival.
    record(scheduler.advance(fromMillis(job.submit_ms)));
    agent::LocalJobRequest request;
    request.nodes = job.procs;
    // A zero requested time cannot be a LocalScheduler walltime; 1 ms is equivalent
    // here: such a job ends at its start (runtime is capped at 0), and a blocked head's
    // shadow time is always later than the current instant.
    request.walltime = Duration(std::max<int64_t>(job.requested_ms, 1));
    request.runtime = Duration(job.runtime_ms);
    Result<agent::LocalJobId> id = scheduler.submit(request, fromMillis(job.submit_ms));
    // procs is within 1..size and walltime > 0 by construction above.
    assert(id.ok() && *id == i + 1);
    (void)id;
  }
  while (std::optional<Time> next = scheduler.nextEventTime()) record(scheduler.advance(*next));
  record(scheduler.advance(scheduler.now()));
  return run;
}

void writeSingleJobsCsv(const SingleRun& run, std::ostream& out) {
  out << "job_id,submit,start,end,procs\n";
  for (const SingleJob& j : run.jobs) {
    out << j.job_number << ',' << formatSeconds(j.submit_ms) << ',' << formatSeconds(j.start_ms)
        << ',' << formatSeconds(j.end_ms) << ',' << j.procs << '\n';
  }
}

}  // namespace aifed::sim
