// /api/v1/jobs: submit (answered once the job is durable, group commit), list, one job,
// its explanation, cancel.
#include <memory>

#include "coordinator/rest/job_intake.h"
#include "coordinator/rest/job_list.h"
#include "coordinator/rest/request_parsing.h"
#include "coordinator/rest/rest_context.h"
#include "coordinator/rest/rest_json.h"
#include "protocol/codec.h"

namespace aifed::coordinator {
namespace json = boost::json;
using api::Action;
using api::HttpRequest;
using api::HttpResponse;
using api::PathParams;
using api::Principal;
using api::Resource;
using Change = RestContext::Change;

namespace {

class JobRoutes : public std::enable_shared_from_this<JobRoutes> {
 public:
  explicit JobRoutes(std::shared_ptr<RestContext> ctx) : ctx_(std::move(ctx)) {}

  void submit(const HttpRequest& req, api::Reply reply);
  HttpResponse list(const HttpRequest& req, const Principal& who);
  HttpResponse show(const std::string& id, const Principal& who);
  HttpResponse explain(const std::string& id, const Principal& who);
  HttpResponse cancel(const std::string& id, const Principal& who, Change& c);

 private:
  // Checks and queues the job into c.fx (c.audit.target: its id); a refusal otherwise.
  std::optional<HttpResponse> prepareSubmit(const HttpRequest& req, const Principal& who,
                                            Change& c);
  JobService& svc() { return ctx_->svc(); }

  std::shared_ptr<RestContext> ctx_;
};

std::optional<HttpResponse> JobRoutes::prepareSubmit(const HttpRequest& req, const Principal& who,
                                                     Change& c) {
  JobSpec read;
  if (Status s = readSubmission(req, who, svc().broker().federation(), read); !s.ok()) {
    if (!read.project.empty()) c.audit.target = "project " + read.project;
    return api::errorResponse(s);
  }
  JobSpec* spec = &read;
  c.audit.target = "project " + spec->project;
  if (spec->user != who.user) c.audit.on_behalf_of = spec->user;
  if (Status s = svc().writable(); !s.ok()) return notDurable(s);
  if (Status s = svc().reserveJobId(); !s.ok()) return notDurable(s);
  Result<broker::JobRecord> job = svc().broker().submit(*spec, svc().instant(), c.fx);
  if (!job.ok()) return api::errorResponse(job.status());
  c.audit.target = job->id;
  c.audit.detail = "project " + spec->project + ", user " + spec->user;
  return std::nullopt;
}

void JobRoutes::submit(const HttpRequest& req, api::Reply reply) {
  Change c;
  std::optional<HttpResponse> refusal;
  Result<Principal> who = ctx_->openChange(req, "job.submit", c, refusal);
  if (refusal) return reply(std::move(*refusal));
  if (std::optional<HttpResponse> r = prepareSubmit(req, *who, c)) {
    return reply(ctx_->finish(c, std::move(*r)));
  }
  // The job and its audit row are durable together; the commit's placement tick places
  // the job, so the answer already says where it went. Submissions arriving meanwhile
  // share the transaction (group commit).
  c.audit.outcome = "ok";
  std::string id = c.audit.target;
  svc().commitAsync(std::move(c.fx), {std::move(c.audit)},
                    [self = shared_from_this(), id, reply](Status s) {
                      if (!s.ok()) return reply(notDurable(s));
                      broker::Broker& b = self->svc().broker();
                      reply(api::jsonResponse(
                          201, jobJson(*b.findJob(id), b.lastDecision(id), self->svc().now())));
                    });
}

HttpResponse JobRoutes::list(const HttpRequest& req, const Principal& who) {
  Result<JobListQuery> q = readJobListQuery(req, who);
  if (!q.ok()) return api::errorResponse(q.status());
  broker::Broker& b = svc().broker();
  Time now = svc().now();
  // `total`: every job matching the filters that `who` may see, ignoring paging.
  std::vector<const broker::JobRecord*> matching =
      listJobs(b, *q, who, now, q->offset + q->limit);
  json::array jobs;
  for (size_t i = q->offset; i < matching.size() && jobs.size() < q->limit; ++i) {
    jobs.push_back(jobJson(*matching[i], b.lastDecision(matching[i]->id), now));
  }
  return api::jsonResponse(200, json::object{{"jobs", std::move(jobs)},
                                             {"total", matching.size()},
                                             {"limit", q->limit},
                                             {"offset", q->offset}});
}

HttpResponse JobRoutes::show(const std::string& id, const Principal& who) {
  const broker::JobRecord* job = ctx_->visibleJob(id, who);
  if (!job) return api::errorResponse(notFound("no job \"" + id + "\""));
  return api::jsonResponse(200, jobJson(*job, svc().broker().lastDecision(job->id), svc().now()));
}

HttpResponse JobRoutes::explain(const std::string& id, const Principal& who) {
  const broker::JobRecord* job = ctx_->visibleJob(id, who);
  if (!job) return api::errorResponse(notFound("no job \"" + id + "\""));
  const broker::PlacementDecision* d = svc().broker().lastDecision(job->id);
  std::vector<broker::PlacementDecision> stored;
  if (!d) {
    // A job decided before a restart: the last decision the store kept.
    Result<std::vector<broker::PlacementDecision>> r = svc().storedDecisions(job->id);
    if (!r.ok()) return api::errorResponse(r.status());
    stored = std::move(*r);
    if (!stored.empty()) d = &stored.back();
  }
  return api::jsonResponse(200, explainJson(*job, d));
}

HttpResponse JobRoutes::cancel(const std::string& path_id, const Principal& who, Change& c) {
  std::string id = canonicalJobId(path_id);
  c.audit.target = id;
  const broker::JobRecord* job = ctx_->visibleJob(id, who);
  if (!job) {
    // An existing job hidden from `who` is refused exactly like a missing one.
    if (svc().broker().findJob(id)) c.outcome = "denied";
    return api::errorResponse(notFound("no job \"" + path_id + "\""));
  }
  if (Status s = api::authorize(who, Action::kJobCancel, Resource::ofJob(*job)); !s.ok()) {
    return api::errorResponse(s);
  }
  // The job's reason names who cancelled it: the user, else the token's name.
  const std::string& actor = who.user.empty() ? who.name : who.user;
  Result<broker::JobRecord> done = svc().broker().cancel(id, svc().instant(), c.fx, actor);
  if (!done.ok()) return api::errorResponse(done.status());
  return api::jsonResponse(200, jobJson(*done, svc().broker().lastDecision(id), svc().now()));
}

}  // namespace

void addJobRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router) {
  auto jobs = std::make_shared<JobRoutes>(ctx);
  router.addAsync("POST", "/api/v1/jobs",
                  [jobs](const HttpRequest& req, const PathParams&, api::Reply reply) {
                    jobs->submit(req, std::move(reply));
                  });
  ctx->read(router, "GET", "/api/v1/jobs",
            [jobs](const HttpRequest& req, const PathParams&, const Principal& who) {
              return jobs->list(req, who);
            });
  ctx->read(router, "GET", "/api/v1/jobs/{id}",
            [jobs](const HttpRequest&, const PathParams& p, const Principal& who) {
              return jobs->show(p.at("id"), who);
            });
  ctx->read(router, "GET", "/api/v1/jobs/{id}/explain",
            [jobs](const HttpRequest&, const PathParams& p, const Principal& who) {
              return jobs->explain(p.at("id"), who);
            });
  ctx->change(router, "POST", "/api/v1/jobs/{id}/cancel", "job.cancel",
              [jobs](const HttpRequest&, const PathParams& p, const Principal& who, Change& c) {
                return jobs->cancel(p.at("id"), who, c);
              });
}

}  // namespace aifed::coordinator
