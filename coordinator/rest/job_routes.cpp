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
  // The "array" of a submission: one task per index (c.audit.target: the array's id).
  std::optional<HttpResponse> prepareArray(const json::value& array, const JobSpec& spec,
                                           Change& c);
  JobService& svc() { return ctx_->svc(); }

  std::shared_ptr<RestContext> ctx_;
};

std::optional<HttpResponse> JobRoutes::prepareSubmit(const HttpRequest& req, const Principal& who,
                                                     Change& c) {
  JobSpec read;
  json::value body;
  if (Status s = readSubmission(req, who, svc().broker().federation(), read, &body); !s.ok()) {
    if (!read.project.empty()) c.audit.target = "project " + read.project;
    return api::errorResponse(s);
  }
  JobSpec* spec = &read;
  c.audit.target = "project " + spec->project;
  if (spec->user != who.user) c.audit.on_behalf_of = spec->user;
  // A dependency names a job the submitter may read (docs/api.md, "Dependencies").
  for (const JobDependency& dep : spec->dependencies) {
    if (!ctx_->visibleJob(dep.job, who)) {
      return api::errorResponse(400, "invalid_argument",
                                "dependency " + dep.job + " is not a job you may read",
                                "dependencies");
    }
  }
  if (Status s = svc().writable(); !s.ok()) return notDurable(s);
  c.audit.detail = "project " + spec->project + ", user " + spec->user;
  if (const json::value* array = body.as_object().if_contains("array")) {
    return prepareArray(*array, *spec, c);
  }
  if (Status s = svc().reserveJobId(); !s.ok()) return notDurable(s);
  Result<broker::JobRecord> job = svc().broker().submit(*spec, svc().instant(), c.fx);
  if (!job.ok()) return api::errorResponse(job.status());
  c.audit.target = job->id;
  return std::nullopt;
}

std::optional<HttpResponse> JobRoutes::prepareArray(const json::value& array, const JobSpec& spec,
                                                    Change& c) {
  const json::object* o = array.if_object();
  const json::value* indices = o ? o->if_contains("indices") : nullptr;
  if (!indices || !indices->is_string()) {
    return api::errorResponse(400, "invalid_argument",
                              "array must be an object with \"indices\" (e.g. \"0-99\")",
                              "array.indices");
  }
  broker::ArraySpec want{std::string(indices->get_string()), 0};
  if (const json::value* max = o->if_contains("max_running")) {
    if (!max->is_int64() || max->get_int64() < 0 || max->get_int64() > 1'000'000) {
      return api::errorResponse(400, "invalid_argument",
                                "array.max_running must be a whole number from 0 (no limit)",
                                "array.max_running");
    }
    want.max_running = static_cast<int>(max->get_int64());
  }
  Result<std::vector<int64_t>> tasks = broker::parseArrayIndices(want.indices);
  if (!tasks.ok()) return api::errorResponse(tasks.status());
  if (Status s = svc().reserveJobIds(static_cast<int64_t>(tasks->size())); !s.ok()) {
    return notDurable(s);
  }
  Result<broker::Broker::ArraySubmission> made =
      svc().broker().submitArray(spec, want, svc().instant(), c.fx);
  if (!made.ok()) return api::errorResponse(made.status());
  c.audit.target = made->array.id;
  c.audit.detail += ", " + std::to_string(made->jobs.size()) + " tasks " + made->jobs.front() +
                    ".." + made->jobs.back();
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
                      if (const broker::ArrayRecord* a = b.findArray(id)) {
                        std::vector<const broker::JobRecord*> tasks = b.arrayTasks(id);
                        json::array ids;
                        for (const broker::JobRecord* t : tasks) ids.emplace_back(t->id);
                        return reply(api::jsonResponse(
                            201, json::object{{"array", arrayJson(*a, tasks)},
                                              {"jobs", std::move(ids)}}));
                      }
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
