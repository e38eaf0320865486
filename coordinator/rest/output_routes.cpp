// GET /api/v1/jobs/{id}/output: the bounded tail (or a slice) of a job's stdout or stderr,
// fetched from the agent of the site that ran its latest attempt (LOG_REQUEST / LOG_DATA,
// protocol 1.2). Asynchronous: the handler registers the request and returns; the
// daemon answers once the LOG_DATA arrives, or 504 after its timeout. docs/api.md.
//
// Who may read it: admin, operator and viewer (who may read every job), and a submitter
// for its projects' jobs (the owners: jobs are owned by projects, tokens act for them).
// A site-admin may not (it reads its site's files at the site, under the site's own
// rules). Every read, allowed or refused, leaves a `job.output.read` audit row.
#include <memory>

#include "coordinator/rest/job_intake.h"
#include "coordinator/rest/request_parsing.h"
#include "coordinator/rest/rest_context.h"

namespace aifed::coordinator {

namespace {

constexpr uint64_t kDefaultMaxBytes = 64 * 1024;
constexpr uint64_t kMaxMaxBytes = 1 << 20;  // what one answer may carry at most

// Whether `who` may read the output of a job it may see (api::mayRead).
bool mayReadOutput(const Principal& who) {
  switch (who.role) {
    case identity::Role::kAdmin:
    case identity::Role::kOperator:
    case identity::Role::kViewer:
    case identity::Role::kSubmitter:  // mayRead: its own user's job in one of its projects
    case identity::Role::kPortal:     // mayRead: a job of one of its projects
      return true;
    case identity::Role::kSiteAdmin:
      return false;
  }
  return false;
}

HttpResponse withRetryAfter(HttpResponse r, int seconds) {
  r.headers.emplace_back("Retry-After", std::to_string(seconds));
  return r;
}

// The answer to a request the daemon sent on.
HttpResponse answerFor(const broker::JobRecord& job, const std::string& site, OutputAnswer a) {
  using Failure = OutputAnswer::Failure;
  switch (a.failure) {
    case Failure::kUnreachable:
      return withRetryAfter(api::errorResponse(503, "site_unreachable", a.message), 30);
    case Failure::kBusy:
      return withRetryAfter(api::errorResponse(503, "unavailable", a.message), 1);
    case Failure::kTimeout:
      return withRetryAfter(api::errorResponse(504, "site_timeout", a.message), 5);
    case Failure::kOldAgent:
      return api::errorResponse(409, "not_supported", a.message);
    case Failure::kNone:
      break;
  }
  LogData& d = a.data;
  if (!d.error.empty()) {
    // The agent's own refusal: not_found, no_output or unreadable, in its words.
    return api::errorResponse(409, d.error, "site " + site + ": " + d.message);
  }
  return api::jsonResponse(200, json::object{{"job_id", job.id},
                                             {"attempt", d.attempt},
                                             {"site", site},
                                             {"state", jobStateName(job.state)},
                                             {"stream", d.stream},
                                             {"path", d.path},
                                             {"size", d.size},
                                             {"offset", d.offset},
                                             {"next_offset", d.end},
                                             {"data", d.data}});
}

class OutputRoute : public std::enable_shared_from_this<OutputRoute> {
 public:
  explicit OutputRoute(std::shared_ptr<RestContext> ctx) : ctx_(std::move(ctx)) {}

  void handle(const HttpRequest& req, const std::string& id, api::Reply reply);

 private:
  // The LOG_REQUEST for `job` from the query, or the 400 to answer.
  Result<LogRequest> parse(const HttpRequest& req, const broker::JobRecord& job) const;
  // Records the audit row with the answer's outcome, then answers.
  void finish(identity::AuditRecord row, const api::Reply& reply, HttpResponse r);

  std::shared_ptr<RestContext> ctx_;
};

Result<LogRequest> OutputRoute::parse(const HttpRequest& req, const broker::JobRecord& job) const {
  LogRequest r;
  r.job_id = job.id;
  r.attempt = job.attempt;
  r.stream = queryParam(req, "stream");
  if (r.stream.empty()) r.stream = "stdout";
  if (r.stream != "stdout" && r.stream != "stderr") {
    return invalidArgument("stream must be stdout or stderr", "stream");
  }
  if (!queryParam(req, "offset").empty()) {
    Result<size_t> offset = sizeParam(req, "offset", 0, SIZE_MAX / 2);
    if (!offset.ok()) return offset.status();
    r.offset = *offset;
  }
  Result<size_t> max = sizeParam(req, "max_bytes", kDefaultMaxBytes, kMaxMaxBytes);
  if (!max.ok()) return max.status();
  if (*max == 0) return invalidArgument("max_bytes must be at least 1", "max_bytes");
  r.max_bytes = *max;
  return r;
}

void OutputRoute::finish(identity::AuditRecord row, const api::Reply& reply, HttpResponse r) {
  if (row.outcome.empty()) {
    row.outcome = r.status < 300 ? "ok" : r.status == 401 || r.status == 403 ? "denied" : "error";
  }
  if (r.status >= 400) {
    std::string why = errorMessage(r);
    row.detail = row.detail.empty() ? why : row.detail + ": " + why;
  }
  ctx_->svc().recordAudit(std::move(row));
  reply(std::move(r));
}

void OutputRoute::handle(const HttpRequest& req, const std::string& path_id, api::Reply reply) {
  std::string id = canonicalJobId(path_id);  // "136" is "j-136"
  identity::AuditRecord row = ctx_->auditRow(req, "job.output.read");
  row.target = id;
  Result<Principal> who = ctx_->authenticate(req);
  if (!who.ok()) {
    row.actor = api::Authenticator::claimedTokenId(req);
    return finish(std::move(row), reply, unauthenticated(who.status()));
  }
  row.actor = who->token_id;
  row.actor_name = who->name;
  row.role = identity::roleName(who->role);
  const broker::JobRecord* job = ctx_->visibleJob(id, *who);
  if (!job) {
    // A job hidden from `who` is answered like a missing one, and audited as refused.
    if (ctx_->svc().broker().findJob(id)) row.outcome = "denied";
    return finish(std::move(row), reply, api::errorResponse(notFound("no job \"" + id + "\"")));
  }
  if (!mayReadOutput(*who)) {
    return finish(std::move(row), reply,
                  api::errorResponse(403, "permission_denied",
                                     "role " + std::string(identity::roleName(who->role)) +
                                         " may not job.output.read"));
  }
  Result<LogRequest> request = parse(req, *job);
  if (!request.ok()) return finish(std::move(row), reply, api::errorResponse(request.status()));
  row.detail = request->stream;
  if (job->attempt == 0 || job->site.empty()) {
    return finish(std::move(row), reply,
                  api::errorResponse(404, "no_attempt",
                                     "job " + id + " has not reached a site yet: no output"));
  }
  row.detail += " of attempt " + std::to_string(job->attempt) + " at " + job->site;
  std::string site = job->site;
  ctx_->svc().requestOutput(
      site, std::move(*request),
      [self = shared_from_this(), id, site, row = std::move(row), reply](OutputAnswer a) mutable {
        const broker::JobRecord* now = self->ctx_->svc().broker().findJob(id);
        if (!now) {
          return self->finish(std::move(row), reply,
                              api::errorResponse(notFound("no job \"" + id + "\"")));
        }
        self->finish(std::move(row), reply, answerFor(*now, site, std::move(a)));
      });
}

}  // namespace

void addOutputRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router) {
  auto route = std::make_shared<OutputRoute>(ctx);
  router.addAsync("GET", "/api/v1/jobs/{id}/output",
                  [route](const HttpRequest& req, const api::PathParams& p, api::Reply reply) {
                    route->handle(req, p.at("id"), std::move(reply));
                  });
}

}  // namespace aifed::coordinator
