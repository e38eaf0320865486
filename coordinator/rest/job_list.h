// GET /api/v1/jobs: the query (filters, order, page) read from the request, and the jobs
// that match it in that order (docs/api.md, "List jobs").
//
//   Result<JobListQuery> q = readJobListQuery(req, who);
//   if (!q.ok()) return api::errorResponse(q.status());             // 400 naming the param
//   std::vector<const broker::JobRecord*> jobs = listJobs(broker, *q, who, now);
//
// Cost: one pass over the jobs in memory to filter, then a partial sort of the matching
// pointers up to the page's end (n log(offset + limit) comparisons of one field, none for
// the default order when submission times follow ids); only the page is rendered.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "coordinator/api/auth.h"
#include "coordinator/api/http_server.h"
#include "coordinator/broker/broker.h"

namespace aifed::coordinator {

// The job field a list is ordered by; every order breaks ties by job id in its direction.
enum class JobSortKey { kSubmitted, kId, kState, kSite, kUser, kProject, kElapsed };

struct JobListQuery {
  std::set<JobState> states;  // empty: any ("state=pending,running")
  bool active_only = false;   // active=true: queued, dispatched, pending or running
  std::string site;
  std::string project;
  std::string user;       // user=NAME, or the token's user with me=true
  bool nobody = false;    // me=true from a token without a user: matches no job
  std::string id_prefix;  // q=
  std::string array;       // array=a-3: the array's tasks
  JobSortKey sort = JobSortKey::kSubmitted;
  bool descending = true;  // the default: -submitted, newest first
  size_t limit = 100;
  size_t offset = 0;
};

// The query of a GET /api/v1/jobs request, or kInvalidArgument naming the bad parameter.
Result<JobListQuery> readJobListQuery(const api::HttpRequest& req, const api::Principal& who);

// Every job in memory that matches `q` and `who` may read (not paged); the first
// `ordered` of them in `q`'s order, the rest in no particular order (a page needs
// offset + limit).
std::vector<const broker::JobRecord*> listJobs(const broker::Broker& broker, const JobListQuery& q,
                                               const api::Principal& who, Time now,
                                               size_t ordered = SIZE_MAX);

// Seconds the job has run: running, now - started_at; ended after starting, ended_at -
// started_at; otherwise 0.
double elapsedSeconds(const broker::JobRecord& job, Time now);

}  // namespace aifed::coordinator
