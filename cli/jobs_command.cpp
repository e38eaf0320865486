#include "cli/jobs_command.h"

#include <algorithm>
#include <ostream>
#include <set>

#include "cli/job_format.h"
#include "cli/json_text.h"
#include "cli/sbatch_flags.h"
#include "cli/tables.h"
#include "common/strings.h"

namespace aifed::cli {
namespace json = boost::json;
using json_text::field;
using json_text::str;

namespace {

const std::set<std::string> kActive = {"queued", "dispatched", "pending", "running"};

void addParam(std::string& query, const char* key, const std::string& value) {
  query += (query.empty() ? "?" : "&") + std::string(key) + "=" + percentEncode(value);
}

// One cancel request and its line of output; the exit code.
int cancelOne(const std::string& id, ApiCall& api, std::ostream& out, std::ostream& err) {
  bool array = id.rfind("a-", 0) == 0;
  std::string target =
      std::string(array ? "/api/v1/arrays/" : "/api/v1/jobs/") + percentEncode(id) + "/cancel";
  Result<HttpResult> r = api.send("POST", target, "");
  if (!r.ok() || r->status < 200 || r->status >= 300) {
    err << "aifed cancel " << id << ":\n";
    return api.report(r);
  }
  if (api.jsonOutput()) {
    out << r->body << (r->body.empty() || r->body.back() != '\n' ? "\n" : "");
    return kExitOk;
  }
  json::value v;
  try {
    v = json::parse(r->body);
  } catch (const std::exception&) {
    v = json::object();
  }
  if (array) {
    out << "Cancelled array " << id << ": " << str(v, "tasks") << " tasks";
    const json::value* counts = field(v, "counts");
    if (counts && counts->is_object()) {
      out << " (" << common::join(counts->get_object(), ", ", [](const json::key_value_pair& kv) {
        return json_text::str(json::value{{"n", kv.value()}}, "n") + " " + std::string(kv.key());
      }) << ")";
    }
    out << "\n";
  } else if (json_text::boolean(v, "cancel_requested") && str(v, "state") != "cancelled") {
    out << id << ": cancel requested (" << str(v, "state") << " at " << str(v, "site")
        << "; the site confirms)\n";
  } else {
    out << id << ": " << str(v, "state") << "\n";
  }
  return kExitOk;
}

// The ids of the active jobs the filters select, page by page. The filters are applied
// here too, so a server that ignores one never widens what is cancelled.
Result<std::vector<std::string>> matchingJobs(const CancelOptions& o, ApiCall& api, int& code) {
  std::string user = o.user.value_or("");
  if (o.me) {
    Result<HttpResult> r = api.get("/api/v1/session");
    if (!r.ok() || r->status != 200) {
      code = api.report(r);
      return unavailable("GET /api/v1/session failed");
    }
    boost::system::error_code ec;
    user = str(json::parse(r->body, ec), "user", "");
    if (user.empty()) {
      code = kExitUsage;
      return invalidArgument("--me: the token names no user");
    }
  }
  std::set<std::string> states = kActive;
  std::string query;
  addParam(query, "active", "true");
  if (o.state) {
    Result<std::string> s = jobStatesParam(*o.state);
    if (!s.ok()) {
      code = kExitUsage;
      return s.status();
    }
    states.clear();
    for (std::string_view st : common::split(*s, ',')) {
      if (kActive.contains(std::string(st))) states.insert(std::string(st));
    }
    // The states are checked here, not sent: active=true already narrows the list.
  }
  if (o.me) addParam(query, "me", "true");
  if (!user.empty()) addParam(query, "user", user);
  if (o.site) addParam(query, "site", *o.site);
  if (o.project) addParam(query, "project", *o.project);
  std::vector<std::string> ids;
  for (size_t offset = 0;;) {
    Result<HttpResult> r =
        api.get("/api/v1/jobs" + query + "&limit=1000&offset=" + std::to_string(offset));
    if (!r.ok() || r->status != 200) {
      code = api.report(r);
      return unavailable("GET /api/v1/jobs failed");
    }
    boost::system::error_code ec;
    json::value page = json::parse(r->body, ec);
    const json::value* jobs = field(page, "jobs");
    if (!jobs || !jobs->is_array() || jobs->get_array().empty()) break;
    for (const json::value& j : jobs->get_array()) {
      static const json::value kEmpty = json::object();
      const json::value* spec = field(j, "spec");
      const json::value& s = spec ? *spec : kEmpty;
      if (!states.contains(str(j, "state"))) continue;
      if (!user.empty() && str(s, "user", "") != user) continue;
      if (o.site && str(j, "site", "") != *o.site) continue;
      if (o.project && str(s, "project", "") != *o.project) continue;
      ids.push_back(str(j, "id"));
    }
    offset += jobs->get_array().size();
    if (offset >= static_cast<size_t>(json_text::integer(page, "total"))) break;
  }
  return ids;
}

}  // namespace

CLI::App* addJobsCommand(CLI::App& app, JobsOptions& o) {
  CLI::App* jobs = app.add_subcommand(
      "jobs", "list jobs like squeue: active ones, newest first (--all for every state)");
  jobs->add_flag("--all", o.all, "jobs in every state, ended ones too");
  jobs->add_flag("--me", o.me, "only the token's user's jobs");
  jobs->add_option("-u,--user", o.user, "only this user's jobs");
  jobs->add_option("-t,--state", o.state,
                   "only these states, comma-separated (running,pending or squeue's R,PD)");
  jobs->add_option("--site", o.site, "only jobs placed at this site");
  jobs->add_option("--array", o.array, "only the tasks of this array (a-3)");
  jobs->add_option("-A,--project,--account", o.project, "only jobs of this project");
  jobs->add_option("--search", o.search, "only jobs whose id starts with this (j-12)");
  jobs->add_option("-S,--sort", o.sort,
                   "one key: submitted, id, state, site, user, project, elapsed (or squeue's "
                   "V i t P u a M); -KEY descending; default -submitted");
  jobs->add_option("-o,--format", o.format,
                   "squeue-like columns, e.g. \"%.8i %j %u %T %M %P %R\" (docs/cli.md)");
  jobs->add_option("--limit", o.limit, "at most this many jobs (server default 100)")
      ->check(CLI::NonNegativeNumber);
  jobs->add_option("--offset", o.offset, "skip this many jobs")->check(CLI::NonNegativeNumber);
  return jobs;
}

Result<std::string> jobsQuery(const JobsOptions& o) {
  std::string query;
  if (o.state) {
    Result<std::string> s = jobStatesParam(*o.state);
    if (!s.ok()) return s.status();
    addParam(query, "state", *s);
  } else if (!o.all) {
    addParam(query, "active", "true");
  }
  if (o.me) addParam(query, "me", "true");
  if (o.user) addParam(query, "user", *o.user);
  if (o.site) addParam(query, "site", *o.site);
  if (o.array) {
    Result<std::string> a = normalizeArrayId(*o.array, "--array");
    if (!a.ok()) return a.status();
    addParam(query, "array", *a);
  }
  if (o.project) addParam(query, "project", *o.project);
  if (o.search) addParam(query, "q", *o.search);
  Result<std::string> sort = jobSortParam(o.sort.value_or("-submitted"));
  if (!sort.ok()) return sort.status();
  addParam(query, "sort", *sort);
  if (o.limit) addParam(query, "limit", std::to_string(*o.limit));
  if (o.offset) addParam(query, "offset", std::to_string(*o.offset));
  return query;
}

int runJobs(const JobsOptions& o, ApiCall& api, std::ostream&, std::ostream& err) {
  Result<std::string> query = jobsQuery(o);
  Result<JobFormat> format = parseJobFormat(o.format.value_or(std::string(kDefaultJobFormat)));
  for (const Status& s : {query.status(), format.status()}) {
    if (!s.ok()) {
      err << "aifed jobs: " << s.message() << "\n";
      return kExitUsage;
    }
  }
  return api.run("GET", "/api/v1/jobs" + *query, "",
                 [&](const json::value& body) { return renderJobs(body, *format); });
}

CLI::App* addCancelCommand(CLI::App& app, CancelOptions& o) {
  CLI::App* cancel = app.add_subcommand(
      "cancel", "cancel jobs like scancel: ids (j-12, 12; a-3 for a whole array) or filters");
  cancel->add_option("ID", o.ids, "job ids (j-12 or 12) and array ids (a-3)");
  cancel->add_flag("--me", o.me, "every active job of the token's user");
  cancel->add_option("-u,--user", o.user, "every active job of this user");
  cancel->add_option("-t,--state", o.state, "only jobs in these states (PD, R, queued, ...)");
  cancel->add_option("--site", o.site, "only jobs at this site");
  cancel->add_option("-A,--project,--account", o.project, "only jobs of this project");
  return cancel;
}

int runCancel(const CancelOptions& o, ApiCall& api, std::ostream& out, std::ostream& err) {
  bool filtered = o.me || o.user || o.state || o.site || o.project;
  if (filtered == !o.ids.empty()) {
    err << "aifed cancel: give job ids (j-12 13 a-3) or filters (--me, --user, --state, --site, "
           "--project), "
        << (filtered ? "not both" : "one of them") << "\n";
    return kExitUsage;
  }
  std::vector<std::string> ids;
  for (const std::string& raw : o.ids) {
    Result<std::string> id =
        raw.rfind("a-", 0) == 0 ? normalizeArrayId(raw, "ID") : normalizeJobId(raw, "ID");
    if (!id.ok()) {
      err << "aifed cancel: " << id.status().message() << " (nothing was cancelled)\n";
      return kExitUsage;
    }
    ids.push_back(*id);
  }
  if (filtered) {
    int code = kExitOk;
    Result<std::vector<std::string>> found = matchingJobs(o, api, code);
    if (!found.ok()) {
      if (code == kExitUsage) err << "aifed cancel: " << found.status().message() << "\n";
      return code == kExitOk ? kExitUnavailable : code;
    }
    ids = std::move(*found);
    if (ids.empty()) out << "No active job matches.\n";
  }
  int first_failure = kExitOk;
  for (const std::string& id : ids) {
    int code = cancelOne(id, api, out, err);
    if (first_failure == kExitOk) first_failure = code;
  }
  return first_failure;
}

std::string renderArray(const json::value& a) {
  auto pairs = [&](std::string_view key) {
    const json::value* v = field(a, key);
    std::string out;
    if (v && v->is_object()) {
      out = common::join(v->get_object(), ", ", [](const json::key_value_pair& kv) {
        return json_text::str(json::value{{"n", kv.value()}}, "n") + " " + std::string(kv.key());
      });
    }
    return out.empty() ? std::string("-") : out;
  };
  int64_t max = json_text::integer(a, "max_running");
  return renderKeyValues(
             {{"id", str(a, "id")},
              {"name", str(a, "name")},
              {"project", str(a, "project")},
              {"user", str(a, "user")},
              {"submitted", field(a, "submitted_at") && field(a, "submitted_at")->is_number()
                                ? formatInstant(field(a, "submitted_at"))
                                : str(a, "submitted_at")},
              {"indices", str(a, "indices")},
              {"max running", max > 0 ? std::to_string(max) : "unthrottled"},
              {"tasks", str(a, "tasks")},
              {"by state", pairs("counts")},
              {"by site", pairs("sites")}}) +
         "tasks: aifed jobs --array " + str(a, "id") + "\n";
}

}  // namespace aifed::cli
