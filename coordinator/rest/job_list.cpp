#include "coordinator/rest/job_list.h"

#include <algorithm>

#include "common/strings.h"
#include "coordinator/broker/job_table.h"
#include "coordinator/rest/request_parsing.h"

namespace aifed::coordinator {
namespace {

struct SortName {
  const char* name;
  JobSortKey key;
};
constexpr SortName kSortNames[] = {
    {"submitted", JobSortKey::kSubmitted}, {"id", JobSortKey::kId},
    {"state", JobSortKey::kState},         {"site", JobSortKey::kSite},
    {"user", JobSortKey::kUser},           {"project", JobSortKey::kProject},
    {"elapsed", JobSortKey::kElapsed},
};

Status readSort(std::string_view text, JobListQuery& q) {
  if (text.empty()) return Status::Ok();
  q.descending = text.front() == '-';
  std::string_view name = q.descending ? text.substr(1) : text;
  for (const SortName& s : kSortNames) {
    if (name == s.name) {
      q.sort = s.key;
      return Status::Ok();
    }
  }
  return invalidArgument("unknown sort \"" + std::string(text) +
                             "\"; sort by submitted, id, state, site, user, project or elapsed "
                             "(a leading - for descending)",
                         "sort");
}

Result<bool> boolParam(const api::HttpRequest& req, const char* name) {
  std::string v = queryParam(req, name);
  if (v.empty() || v == "false" || v == "0") return false;
  if (v == "true" || v == "1") return true;
  return invalidArgument(std::string(name) + " must be true or false, not \"" + v + "\"", name);
}

Status readStates(const std::string& text, JobListQuery& q) {
  if (text.empty()) return Status::Ok();
  for (std::string_view part : common::split(text, ',')) {
    std::optional<JobState> st = parseJobState(common::trim(part));
    if (!st) return invalidArgument("unknown job state \"" + std::string(part) + "\"", "state");
    q.states.insert(*st);
  }
  return Status::Ok();
}

bool isLive(JobState s) {
  return s == JobState::kQueued || broker::isActiveState(s);
}

bool matches(const broker::JobRecord& j, const JobListQuery& q) {
  if (q.nobody) return false;
  if (!q.states.empty() && !q.states.count(j.state)) return false;
  if (q.active_only && !isLive(j.state)) return false;
  if (!q.site.empty() && j.site != q.site) return false;
  if (!q.project.empty() && j.spec.project != q.project) return false;
  if (!q.user.empty() && j.spec.user != q.user) return false;
  if (!q.id_prefix.empty() && !j.id.starts_with(q.id_prefix)) return false;
  if (!q.array.empty() && j.array_id != q.array) return false;
  return true;
}

// Id order without parsing: "j-9" < "j-10" (shorter first, then by text).
bool idLess(const broker::JobRecord* a, const broker::JobRecord* b) {
  if (a->id.size() != b->id.size()) return a->id.size() < b->id.size();
  return a->id < b->id;
}

// Puts the first `first` of `jobs` (in id order) in `q`'s order: its key, then id in the
// key's direction. Only the page is ordered: a partial sort costs n log(first), not
// n log n. Jobs are submitted in id order, so by submission time they usually are
// ordered already, and the default order is then a reversal.
void sortJobs(std::vector<const broker::JobRecord*>& jobs, const JobListQuery& q, Time now,
              size_t first) {
  using J = const broker::JobRecord*;
  first = std::min(first, jobs.size());
  if (q.sort == JobSortKey::kId || q.sort == JobSortKey::kSubmitted) {
    bool in_order = q.sort == JobSortKey::kId ||
                    std::is_sorted(jobs.begin(), jobs.end(),
                                   [](J a, J b) { return a->submitted_at < b->submitted_at; });
    if (in_order) {
      if (q.descending) std::reverse(jobs.begin(), jobs.end());
      return;
    }
  }
  auto order = [&](auto key) {
    auto less = [&](J a, J b) {
      auto ka = key(a);
      auto kb = key(b);
      if (ka != kb) return ka < kb;
      return idLess(a, b);
    };
    auto cmp = [&](J a, J b) { return q.descending ? less(b, a) : less(a, b); };
    std::partial_sort(jobs.begin(), jobs.begin() + static_cast<std::ptrdiff_t>(first), jobs.end(),
                      cmp);
  };
  switch (q.sort) {
    case JobSortKey::kId:
    case JobSortKey::kSubmitted:
      return order([](J j) { return j->submitted_at; });
    case JobSortKey::kState:  // life-cycle order: queued first, lost last
      return order([](J j) { return static_cast<int>(j->state); });
    case JobSortKey::kSite:
      return order([](J j) -> const std::string& { return j->site; });
    case JobSortKey::kUser:
      return order([](J j) -> const std::string& { return j->spec.user; });
    case JobSortKey::kProject:
      return order([](J j) -> const std::string& { return j->spec.project; });
    case JobSortKey::kElapsed:
      return order([now](J j) { return elapsedSeconds(*j, now); });
  }
}

}  // namespace

Result<JobListQuery> readJobListQuery(const api::HttpRequest& req, const api::Principal& who) {
  JobListQuery q;
  if (Status s = readStates(queryParam(req, "state"), q); !s.ok()) return s;
  Result<bool> active = boolParam(req, "active");
  if (!active.ok()) return active.status();
  q.active_only = *active;
  Result<bool> me = boolParam(req, "me");
  if (!me.ok()) return me.status();
  q.site = queryParam(req, "site");
  q.project = queryParam(req, "project");
  q.user = queryParam(req, "user");
  if (*me) {
    if (!q.user.empty() && q.user != who.user) {
      return invalidArgument("me=true and user=" + q.user + " name different users", "user");
    }
    q.user = who.user;
    q.nobody = who.user.empty();  // a token without a user owns no jobs
  }
  q.id_prefix = queryParam(req, "q");
  q.array = queryParam(req, "array");
  if (Status s = readSort(queryParam(req, "sort"), q); !s.ok()) return s;
  Result<size_t> limit = sizeParam(req, "limit", 100, 10000);
  if (!limit.ok()) return limit.status();
  Result<size_t> offset = sizeParam(req, "offset", 0, SIZE_MAX / 16);
  if (!offset.ok()) return offset.status();
  q.limit = *limit;
  q.offset = *offset;
  return q;
}

std::vector<const broker::JobRecord*> listJobs(const broker::Broker& broker, const JobListQuery& q,
                                               const api::Principal& who, Time now,
                                               size_t ordered) {
  std::optional<JobState> one_state;
  if (q.states.size() == 1) one_state = *q.states.begin();
  std::vector<const broker::JobRecord*> out;
  for (const broker::JobRecord* j : broker.listJobs(one_state, q.site, 0, SIZE_MAX)) {
    if (matches(*j, q) && api::mayRead(who, *j)) out.push_back(j);
  }
  sortJobs(out, q, now, ordered);
  return out;
}

double elapsedSeconds(const broker::JobRecord& job, Time now) {
  if (!job.started_at) return 0;
  if (job.state == JobState::kRunning) {
    return std::max(0.0, std::chrono::duration<double>(now - *job.started_at).count());
  }
  if (job.ended_at) {
    return std::max(0.0, std::chrono::duration<double>(*job.ended_at - *job.started_at).count());
  }
  return 0;
}

}  // namespace aifed::coordinator
