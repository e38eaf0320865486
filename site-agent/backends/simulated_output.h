// The output files of a simulated site's jobs, so that `aifed logs` and the console show
// real files in the demo and the tests, read through the same agent code as at a Slurm
// site. Each attempt writes <dir>/<job>-<attempt>.out and .err: when it starts, a few
// honest lines (what ran, where, when) and the `echo` lines of its script, as a shell
// would print them; when it ends, how it ended (stdout) and, unless it completed, why
// (stderr). A file that cannot be written leaves the job as it is: output is a courtesy,
// never a reason to fail a job.
//
//   SimulatedOutput out("/var/lib/aifed/output", "mimer");
//   SubmittedJob paths = out.paths({"j-12", 1});        // where they will be
//   out.started({"j-12", 1}, spec.script, "gpu", 4, now);
//   out.ended({"j-12", 1}, JobState::kCompleted, 0, "", now);
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "site-agent/backends/backend.h"

namespace aifed::agent {

class SimulatedOutput {
 public:
  // `dir` is created when the first file is written.
  SimulatedOutput(std::string dir, std::string site)
      : dir_(std::move(dir)), site_(std::move(site)) {}

  // The attempt's output paths (absolute when `dir` is); local_id left empty.
  SubmittedJob paths(const JobTag& tag) const;
  // Creates (truncates) both files and writes the start lines.
  void started(const JobTag& tag, std::string_view script, const std::string& partition, int nodes,
               Time at) const;
  void ended(const JobTag& tag, JobState state, std::optional<int> exit_code,
             const std::string& reason, Time at) const;

 private:
  std::string base(const JobTag& tag) const;
  std::string dir_;
  std::string site_;
};

// What `echo` lines of a batch script print: the argument text of every line that starts
// (after blanks) with `echo `, one level of matching quotes removed. Nothing is expanded.
std::vector<std::string> echoLines(std::string_view script);

}  // namespace aifed::agent
