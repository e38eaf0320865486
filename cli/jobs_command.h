// The squeue- and scancel-shaped commands: `aifed jobs` (the list, active jobs newest
// first by default), `aifed array ID` (an array's counts) and `aifed cancel ID... |
// filters` (docs/cli.md).
//
//   JobsOptions jo;  CLI::App* jobs = addJobsCommand(app, jo);
//   ... parse ...
//   if (jobs->parsed()) return runJobs(jo, api, out, err);
#pragma once

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cli/api_call.h"

namespace aifed::cli {

struct JobsOptions {
  bool all = false;  // every state, not only queued/dispatched/pending/running
  bool me = false;
  std::optional<std::string> user, state, site, array, project, search, sort, format;
  std::optional<int64_t> limit, offset;
};
CLI::App* addJobsCommand(CLI::App& app, JobsOptions& options);
// The query of GET /api/v1/jobs ("?active=true&sort=-submitted..."); kInvalidArgument
// naming the flag for a bad state, sort key or array id.
Result<std::string> jobsQuery(const JobsOptions& options);
int runJobs(const JobsOptions& options, ApiCall& api, std::ostream& out, std::ostream& err);

struct CancelOptions {
  std::vector<std::string> ids;  // j-12, 12, a-3
  bool me = false;
  std::optional<std::string> user, state, site, project;
};
CLI::App* addCancelCommand(CLI::App& app, CancelOptions& options);
// Cancels each id (an array id cancels the whole array) or every active job matching
// the filters, printing a line per job; the exit code is 0 when all were cancelled,
// else the first failure's.
int runCancel(const CancelOptions& options, ApiCall& api, std::ostream& out, std::ostream& err);

// GET /api/v1/arrays/{id}: its tasks by state and by site.
std::string renderArray(const boost::json::value& array);

}  // namespace aifed::cli
