#include "cli/logs_command.h"

#include <boost/json.hpp>
#include <ostream>

#include "cli/api_call.h"
#include "cli/commands.h"

namespace aifed::cli {
namespace json = boost::json;
namespace {

constexpr uint64_t kFollowChunk = 1 << 20;  // the server's largest max_bytes

bool isFinal(const std::string& state) {
  return state == "completed" || state == "failed" || state == "cancelled" || state == "timeout" ||
         state == "node_fail" || state == "lost";
}

// One answer of the output route, as far as --follow needs it.
struct Chunk {
  int64_t attempt = 0;
  std::string site;
  std::string state;
  std::string data;
  uint64_t next_offset = 0;
};

Result<Chunk> parseChunk(const std::string& body) {
  try {
    json::object o = json::parse(body).as_object();
    Chunk c;
    c.attempt = o.at("attempt").to_number<int64_t>();
    c.site = o.at("site").as_string();
    c.state = o.at("state").as_string();
    c.data = o.at("data").as_string();
    c.next_offset = o.at("next_offset").to_number<uint64_t>();
    return c;
  } catch (const std::exception& e) {
    return unavailable(std::string("the server's answer is not job output: ") + e.what());
  }
}

// The error code of an error answer ("no_output", "no_attempt", ...), or "".
std::string errorCode(const HttpResult& r) {
  try {
    return std::string(json::parse(r.body).at("error").at("code").as_string());
  } catch (const std::exception&) {
    return "";
  }
}

// The state of the job, from GET /api/v1/jobs/{id}; "" when it cannot be had.
std::string jobState(const GetFn& get, const std::string& id) {
  Result<HttpResult> r = get("/api/v1/jobs/" + percentEncode(id));
  if (!r.ok() || r->status != 200) return "";
  try {
    return std::string(json::parse(r->body).at("state").as_string());
  } catch (const std::exception&) {
    return "";
  }
}

// Whether --follow should wait and ask again after this failed answer: the output is
// not there yet (no attempt, no file) or the site is away for now, and the job may still
// produce some.
bool worthWaiting(const Result<HttpResult>& r, const GetFn& get, const std::string& id) {
  if (!r.ok()) return false;
  std::string code = errorCode(*r);
  // A site's not_found: the DISPATCH may not have reached it yet.
  bool transient = r->status == 503 || r->status == 504 || code == "no_attempt" ||
                   code == "no_output" || (r->status == 409 && code == "not_found");
  return transient && !isFinal(jobState(get, id));
}

}  // namespace

std::string jobIdArgument(const std::string& text) {
  bool number = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  return number ? "j-" + text : text;
}

int runLogs(const LogsOptions& o, const GetFn& get, const ReportFn& report, std::ostream& out,
            std::ostream& err, const std::function<void(Duration)>& sleep) {
  std::string id = jobIdArgument(o.job);
  std::string base = "/api/v1/jobs/" + percentEncode(id) +
                     "/output?stream=" + (o.stderr_stream ? "stderr" : "stdout");
  std::string target = base + "&max_bytes=" + std::to_string(o.bytes);  // the tail first
  int64_t attempt = 0;
  bool first = true;
  while (true) {
    Result<HttpResult> r = get(target);
    if (!r.ok() || r->status != 200) {
      if (!o.follow || !worthWaiting(r, get, id)) return report(r);
      sleep(o.interval);
      continue;
    }
    Result<Chunk> c = parseChunk(r->body);
    if (!c.ok()) {
      err << "aifed: " << c.status().message() << "\n";
      return kExitUnavailable;
    }
    if (!first && c->attempt != attempt) {
      // Placed again: the new attempt's output is another file, read from its start.
      err << "aifed: job " << id << " attempt " << c->attempt << " at " << c->site << "\n";
      attempt = c->attempt;
      target = base + "&offset=0&max_bytes=" + std::to_string(kFollowChunk);
      continue;
    }
    attempt = c->attempt;
    if (o.json) {
      out << r->body << (r->body.ends_with('\n') ? "" : "\n");
    } else {
      out << c->data;
    }
    out.flush();
    if (!o.follow) return kExitOk;
    bool grew = !first && !c->data.empty();
    first = false;
    target = base + "&offset=" + std::to_string(c->next_offset) +
             "&max_bytes=" + std::to_string(kFollowChunk);
    if (grew) continue;  // there may be more at once
    // The answer carries the job's state as the coordinator knew it then: an ended job
    // whose output did not grow since the last read is done.
    if (isFinal(c->state)) return kExitOk;
    sleep(o.interval);
  }
}

}  // namespace aifed::cli
